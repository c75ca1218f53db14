// The kernel table of the emulation library and how a kernel is called with packed arguments.
//
// Packed arguments (the same bytes the CUDA launcher hands to cuLaunchKernel): each argument at
// the next offset aligned to its natural alignment (pointers and 64-bit integers 8, int and float
// 4, a struct its own alignment), in declaration order. The signature string names the kinds:
// p pointer, i 32-bit integer, l 64-bit integer, f float, d double, {size:align} a struct by value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

namespace jgan_emu {

template <typename T> std::string signature_of() {
    if (std::is_pointer<T>::value) return "p";
    if (std::is_same<T, float>::value) return "f";
    if (std::is_same<T, double>::value) return "d";
    if (std::is_integral<T>::value && sizeof(T) == 4) return "i";
    if (std::is_integral<T>::value && sizeof(T) == 8) return "l";
    return "{" + std::to_string(sizeof(T)) + ":" + std::to_string(alignof(T)) + "}";
}

template <typename T> T load_arg(const unsigned char* p) {
    T v;
    std::memcpy(static_cast<void*>(&v), p, sizeof(T));
    return v;
}

template <typename F> struct Invoker;
template <typename... A> struct Invoker<void (*)(A...)> {
    static constexpr std::size_t count = sizeof...(A);

    static void offsets(std::size_t* out, std::size_t* total) {
        std::size_t off = 0, i = 0;
        ((off = (off + alignof(A) - 1) / alignof(A) * alignof(A), out[i++] = off, off += sizeof(A)), ...);
        *total = off;
    }
    static std::size_t bytes() {
        std::size_t off[count > 0 ? count : 1], total;
        offsets(off, &total);
        return total;
    }
    static std::string signature() {
        std::string s;
        ((s += signature_of<A>()), ...);
        return s;
    }
    template <std::size_t... I>
    static void call_with(void* fn, const unsigned char* args, const std::size_t* off, std::index_sequence<I...>) {
        reinterpret_cast<void (*)(A...)>(fn)(load_arg<A>(args + off[I])...);
    }
    static void call(void* fn, const unsigned char* args) {
        std::size_t off[count > 0 ? count : 1], total;
        offsets(off, &total);
        call_with(fn, args, off, std::index_sequence_for<A...>{});
    }
};

struct KernelEntry {
    const char* name;
    void* fn;
    void (*call)(void* fn, const unsigned char* args);
    std::string (*signature)();
    std::size_t (*bytes)();
};

}  // namespace jgan_emu

// One entry of the generated kernel table (see CMakeLists.txt: jgan_emu_kernels.cpp).
#define JGAN_EMU_KERNEL(f) \
    { #f, reinterpret_cast<void*>(&f), &::jgan_emu::Invoker<decltype(&f)>::call, \
      &::jgan_emu::Invoker<decltype(&f)>::signature, &::jgan_emu::Invoker<decltype(&f)>::bytes }

extern "C" const jgan_emu::KernelEntry jgan_emu_kernel_table[];
extern "C" const int jgan_emu_kernel_table_size;
