// The virtual GPU's core (libjgan_vgpu.so, interface in vgpu_core.h): all state of the one
// virtual device. Device memory is tracked host memory (bounds of every allocation known, freed
// memory poisoned and quarantined); each stream is a queue run in order by its own worker thread
// (schedule eager) or only when the host waits for it (schedule lazy); events, contexts, modules
// (the fatbin's container checked) and kernel launches (the host build of kernels/*.cu, the same
// table as libjgan_emu.so) live here too. The stand-ins libcuda.so.1, libcublas.so.12 and
// libcudnn.so.8 only map NVIDIA's API onto this.
//
// Locking: one mutex guards all state; queued work runs without it (a work item may take it).
#include "vgpu_core.h"

#include "emu_runtime.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

extern "C" int jgan_emu_launch(const char* name, const uint32_t* grid, const uint32_t* block, uint32_t shared,
                               const void* args, uint64_t arg_bytes, const char* signature, char* error,
                               uint64_t error_capacity);

namespace jgan_vgpu {
namespace {

constexpr uint64_t kAlignment = 256;                 // cuMemAlloc: suitably aligned for any kind of variable
constexpr uint64_t kQuarantineBytes = 256ull << 20;  // freed memory kept poisoned before it is released

struct Op {
    std::function<std::string()> work;
    std::string call;
    Fault fault;
    std::vector<std::pair<struct Stream*, uint64_t>> deps;  // (stream, position) that must have run first
};

struct Stream {
    bool blocking = true;
    bool destroyed = false;
    bool stop = false;
    bool running = false;  // its head is being run (by its worker or a waiting host thread)
    uint64_t queued = 0, done = 0;
    std::deque<Op> queue;
    std::thread worker;
};

struct Block {
    uint64_t bytes;  // as asked for: the bounds checked
    uint64_t rounded;
    bool free_pending;
};

struct Event {
    unsigned flags;
    bool recorded = false, complete = false;
    uint64_t generation = 0;
    Stream* stream = nullptr;
    uint64_t position = 0;
    double ms = 0;
};

struct Function {
    const jgan_emu::KernelEntry* kernel;
    std::string signature;
    struct Param { uint64_t size, align; char kind; };
    std::vector<Param> params;  // of each parameter, in order
    struct Module* module;
};

struct Module {
    std::set<std::string> names;  // kernels in the image, when its entry is uncompressed
    bool names_known = false;
    std::vector<std::unique_ptr<Function>> functions;
};

// All state; never destroyed, so that worker threads may outlive static destructors at exit.
struct State {
    std::mutex mu;
    std::condition_variable progress;  // work queued or done, schedule changed, a stream stopped
    int schedule = 0;                  // 0 eager, 1 lazy
    bool strict = false;
    bool initialized = false;
    int driver_version = 13000;  // cuDriverGetVersion's answer (JGAN_VGPU_DRIVER_VERSION)
    int sticky = 0;
    std::string last_message;
    int64_t counters[12] = {};

    Stream legacy;  // the NULL stream
    std::set<Stream*> streams;

    uint64_t capacity = 16384ull << 20, used = 0;
    std::map<uint64_t, Block> live, freed;
    std::deque<uint64_t> freed_order;
    uint64_t freed_bytes = 0;
    std::map<uint64_t, uint64_t> pinned;

    std::map<void*, std::shared_ptr<Event>> events;
    std::set<Module*> modules;
    std::set<Function*> functions;

    int primary_refs = 0;
    // kind -> the Nth call that fails; a negative value -N: the Nth and every later one ("kind:N+")
    std::map<std::string, int64_t> fault_plan, fault_seen;
};

State& st() {
    static State* s = new State;
    return *s;
}

char primary_tag;  // the primary context's handle is its address
thread_local void* current = nullptr;

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

std::string hex(uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

Stream* resolve(void* stream) {
    return is_null_stream(stream) ? &st().legacy : static_cast<Stream*>(stream);
}

bool deps_done(const Op& op) {
    for (auto& d : op.deps)
        if (d.first->done < d.second) return false;
    return true;
}

bool runnable(Stream* s) { return !s->running && !s->queue.empty() && deps_done(s->queue.front()); }

// A failure of queued work: the context's sticky error (the first one stays) and one stderr line.
void fail_locked(const std::string& call, const std::string& what, Fault fault) {
    State& g = st();
    if (g.sticky == 0) g.sticky = fault == Fault::launch_failed ? kLaunchFailed : kIllegalAddress;
    g.last_message = call + ": " + what;
    std::fprintf(stderr, "jgan virtual GPU: %s: %s\n", call.c_str(), what.c_str());
    std::fflush(stderr);
}

// Runs the head of s (runnable) with the lock released; l is held on entry and on return.
void run_head(Stream* s, std::unique_lock<std::mutex>& l) {
    Op op = std::move(s->queue.front());
    s->queue.pop_front();
    s->running = true;
    l.unlock();
    std::string error;
    try {
        error = op.work();
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "unknown exception";
    }
    l.lock();
    if (!error.empty()) fail_locked(op.call, error, op.fault);
    s->running = false;
    s->done++;
    st().progress.notify_all();
}

void worker_loop(Stream* s) {
    State& g = st();
    std::unique_lock<std::mutex> l(g.mu);
    for (;;) {
        g.progress.wait(l, [&] { return s->stop || (g.schedule == 0 && runnable(s)); });
        if (s->stop) return;
        run_head(s, l);
    }
}

void start_worker(Stream* s) {
    if (!s->worker.joinable()) s->worker = std::thread(worker_loop, s);
}

// Until position `upto` of s has run: eager, the workers run it; lazy, this thread runs it and
// first whatever it depends on.
void drain(Stream* s, uint64_t upto, std::unique_lock<std::mutex>& l) {
    State& g = st();
    while (s->done < upto) {
        if (g.schedule == 0 || s->running) {
            g.progress.wait(l);
            continue;
        }
        const Op& head = s->queue.front();
        bool waited = false;
        for (auto& d : head.deps)
            if (d.first->done < d.second) {
                drain(d.first, d.second, l);
                waited = true;
                break;
            }
        if (waited) continue;
        run_head(s, l);
    }
}

uint64_t enqueue_locked(Stream* s, Op op) {
    State& g = st();
    if (s == &g.legacy) {
        // legacy NULL stream: after all prior work of every blocking stream
        for (Stream* t : g.streams)
            if (t->blocking && !t->destroyed && t->queued > t->done) op.deps.emplace_back(t, t->queued);
    } else if (s->blocking && g.legacy.queued > g.legacy.done) {
        // a blocking stream: after all prior work of the NULL stream
        op.deps.emplace_back(&g.legacy, g.legacy.queued);
    }
    start_worker(s);
    s->queue.push_back(std::move(op));
    uint64_t position = ++s->queued;
    g.progress.notify_all();
    return position;
}

// Blocks overlapping nothing: [a, a + bytes) inside a block of m, or why not.
const Block* containing(std::map<uint64_t, Block>& m, uint64_t address, uint64_t* base) {
    auto it = m.upper_bound(address);
    if (it == m.begin()) return nullptr;
    --it;
    if (address >= it->first + std::max<uint64_t>(it->second.bytes, 1)) return nullptr;
    *base = it->first;
    return &it->second;
}

std::string where_locked(uint64_t address, uint64_t bytes, bool pointer) {
    State& g = st();
    uint64_t base;
    if (const Block* b = containing(g.live, address, &base)) {
        uint64_t offset = address - base;
        if (pointer || bytes <= b->bytes - offset) return "";
        return hex(address) + " + " + std::to_string(bytes) + " bytes runs past the end of an allocation of "
               + std::to_string(b->bytes) + " bytes at " + hex(base) + " (offset " + std::to_string(offset) + ")";
    }
    if (pointer) {
        // one past the end of a live allocation is a valid pointer
        auto it = g.live.lower_bound(address);
        if (it != g.live.begin() && std::prev(it)->first + std::prev(it)->second.bytes == address) return "";
    }
    if (const Block* b = containing(g.freed, address, &base))
        return hex(address) + " is in freed memory (an allocation of " + std::to_string(b->bytes) + " bytes at "
               + hex(base) + ", freed by cuMemFree)";
    return hex(address) + " is outside any device allocation";
}

// Parses "kind:N[+][,kind:N[+]...]" (N+: the Nth and every later call); false when malformed.
bool parse_faults(const char* spec, std::map<std::string, int64_t>* plan) {
    plan->clear();
    std::string s = spec ? spec : "";
    size_t i = 0;
    while (i < s.size()) {
        size_t comma = s.find(',', i);
        std::string item = s.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
        i = comma == std::string::npos ? s.size() : comma + 1;
        size_t colon = item.find(':');
        if (colon == std::string::npos) return false;
        std::string kind = item.substr(0, colon), n = item.substr(colon + 1);
        bool later = !n.empty() && n.back() == '+';
        if (later) n.pop_back();
        if (kind != "alloc" && kind != "launch" && kind != "cublas" && kind != "cudnn") return false;
        if (n.empty() || n.size() > 12 || n.find_first_not_of("0123456789") != std::string::npos) return false;
        int64_t v = std::stoll(n);
        if (v < 1) return false;
        (*plan)[kind] = later ? -v : v;
    }
    return true;
}

// The settings of the environment, read when the library loads.
struct Settings {
    Settings() {
        State& g = st();
        if (const char* s = std::getenv("JGAN_VGPU_SCHEDULE")) g.schedule = std::strcmp(s, "lazy") == 0 ? 1 : 0;
        if (const char* s = std::getenv("JGAN_VGPU_STRICT")) g.strict = std::strcmp(s, "1") == 0;
        if (const char* s = std::getenv("JGAN_VGPU_MEMORY_MIB")) {
            long long mib = std::atoll(s);
            if (mib > 0) g.capacity = static_cast<uint64_t>(mib) << 20;
        }
        if (const char* s = std::getenv("JGAN_VGPU_DRIVER_VERSION")) {
            int v = std::strlen(s) <= 6 && std::strspn(s, "0123456789") == std::strlen(s) ? std::atoi(s) : 0;
            if (v >= 1000) g.driver_version = v;
            else std::fprintf(stderr, "jgan virtual GPU: JGAN_VGPU_DRIVER_VERSION=\"%s\" is not a CUDA version as cuDriverGetVersion gives it (e.g. 12000); cuDriverGetVersion answers %d\n", s, g.driver_version);
        }
        if (const char* s = std::getenv("JGAN_VGPU_FAULT")) {
            if (!parse_faults(s, &g.fault_plan)) {
                g.fault_plan.clear();
                std::fprintf(stderr, "jgan virtual GPU: JGAN_VGPU_FAULT=\"%s\" is not kind:N[,kind:N] (kinds alloc, launch, cublas, cudnn); no faults\n", s);
            }
        }
    }
} settings;

// ---- the fatbin container ----------------------------------------------------------------------
// Layout (as nvcc writes it): a 16-byte header (magic 0xBA55ED50, u16 version 1, u16 header size,
// u64 size of the entries), then entries: u16 kind (1 PTX, 2 ELF), u16, u32 header size, u64
// payload size, ..., u32 arch at 28 (80 for sm_80 / compute_80), u64 flags at 40 (0x2000 and
// 0x8000: compressed payload), then the payload.
constexpr uint32_t kFatbinMagic = 0xBA55ED50u;

// What a driver of CUDA version `driver` (1000 * major + 10 * minor) can load, as the virtual GPU
// models it from NVIDIA's documents: PTX up to the ISA of its own CUDA release (the PTX ISA
// release notes: ISA 7.y for CUDA 11.y, 8.0-8.5 for CUDA 12.0-12.5, 8.5 for 12.6, 8.7 for 12.8,
// 8.8 for 12.9, 9.y for CUDA 13.y); newer PTX gets CUDA_ERROR_UNSUPPORTED_PTX_VERSION. Machine
// code in CUDA 13's ELF format (ABI version 8; CUDA 11.8's ptxas writes 7) only from CUDA 13.0 on:
// NVIDIA supports what CUDA 13 builds on R580 drivers and newer only.
// The newest PTX ISA the driver JIT-compiles, as 10 * major + minor (80 for ISA 8.0).
int max_ptx_isa(int driver) {
    int major = driver / 1000, minor = driver % 1000 / 10;
    if (major == 12) return 80 + (minor <= 5 ? minor : minor - 1);
    return (major - 4) * 10 + minor;
}
bool loads_elf_abi(int driver, int abi) { return abi < 8 || driver >= 13000; }
std::string isa_name(int isa) { return std::to_string(isa / 10) + "." + std::to_string(isa % 10); }
std::string cuda_name(int driver) { return "CUDA " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10); }

template <typename T> T rd(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

struct Entry {
    uint16_t kind;
    uint32_t arch;
    int isa;  // a PTX entry's code version (10 * major + minor), from its header
    bool compressed;
    const unsigned char* payload;
    uint64_t size;
};

// FUNC symbols of a CUDA ELF (the kernels); false when it is not a well-formed ELF64.
bool elf_functions(const unsigned char* e, uint64_t size, std::set<std::string>* names) {
    if (size < 64 || std::memcmp(e, "\x7f" "ELF", 4) != 0 || e[4] != 2) return false;
    uint64_t shoff = rd<uint64_t>(e + 0x28);
    uint16_t shentsize = rd<uint16_t>(e + 0x3A), shnum = rd<uint16_t>(e + 0x3C);
    if (shentsize < 64 || shoff > size || uint64_t(shnum) * shentsize > size - shoff) return false;
    for (uint16_t i = 0; i < shnum; i++) {
        const unsigned char* sh = e + shoff + uint64_t(i) * shentsize;
        if (rd<uint32_t>(sh + 4) != 2) continue;  // SHT_SYMTAB
        uint64_t off = rd<uint64_t>(sh + 0x18), bytes = rd<uint64_t>(sh + 0x20), entsize = rd<uint64_t>(sh + 0x38);
        uint32_t link = rd<uint32_t>(sh + 0x28);
        if (entsize < 24 || off > size || bytes > size - off || link >= shnum) return false;
        const unsigned char* strsh = e + shoff + uint64_t(link) * shentsize;
        uint64_t stroff = rd<uint64_t>(strsh + 0x18), strbytes = rd<uint64_t>(strsh + 0x20);
        if (stroff > size || strbytes > size - stroff) return false;
        for (uint64_t k = 0; k + entsize <= bytes; k += entsize) {
            const unsigned char* sym = e + off + k;
            uint32_t name = rd<uint32_t>(sym);
            if ((sym[4] & 0xf) != 2 || name >= strbytes) continue;  // STT_FUNC
            const char* n = reinterpret_cast<const char*>(e + stroff + name);
            names->insert(std::string(n, strnlen(n, strbytes - name)));
        }
    }
    return true;
}

// `.entry name(` of a PTX text.
void ptx_entries(const unsigned char* p, uint64_t size, std::set<std::string>* names) {
    std::string text(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), size));
    for (size_t i = text.find(".entry"); i != std::string::npos; i = text.find(".entry", i + 6)) {
        size_t b = text.find_first_not_of(" \t\r\n", i + 6);
        size_t end = b == std::string::npos ? b : text.find_first_of(" \t\r\n(", b);
        if (b != std::string::npos && end != std::string::npos) names->insert(text.substr(b, end - b));
    }
}

// A cubin (an ELF of e_machine EM_CUDA) for sm_90, or a NUL-terminated PTX text for compute_90 or
// older, each of a format the driver of CUDA version `driver` reads.
int parse_single(const unsigned char* d, int driver, Module* m, std::string* why) {
    if (std::memcmp(d, "\x7f" "ELF", 4) == 0) {
        if (d[4] != 2 || rd<uint16_t>(d + 0x12) != 190) {
            *why = "the image is an ELF file but not a 64-bit CUDA cubin";
            return kInvalidImage;
        }
        // e_flags: the SM in bits 8-15 from ELF ABI version 8 (CUDA 13: 0x6005a04 for sm_90), in bits
        // 0-7 before (CUDA 11.8's ABI version 7: 0x50055a)
        uint32_t flags = rd<uint32_t>(d + 0x30), arch = d[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;
        if (arch != 90) {
            *why = "the cubin is for sm_" + std::to_string(arch) + ", the device runs sm_90";
            return kNoBinaryForGpu;
        }
        if (!loads_elf_abi(driver, d[8])) {
            *why = "the cubin is in CUDA 13's ELF format (ABI version " + std::to_string(d[8]) + "), which a " + cuda_name(driver)
                   + " driver does not load (CUDA 13.0, R580, or newer)";
            return kNoBinaryForGpu;
        }
        // a cubin's size is in its header: the section headers end it
        uint64_t size = rd<uint64_t>(d + 0x28) + uint64_t(rd<uint16_t>(d + 0x3C)) * rd<uint16_t>(d + 0x3A);
        if (!elf_functions(d, size, &m->names)) {
            *why = "malformed cubin";
            return kInvalidImage;
        }
        m->names_known = true;
        return kSuccess;
    }
    for (int i = 0; i < 4; i++)
        if (!(std::isprint(d[i]) || std::isspace(d[i]))) {
            *why = "the image is neither a fatbin (magic 0xba55ed50), a cubin nor PTX text";
            return kInvalidImage;
        }
    std::string text(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), 64u << 20));
    size_t target = text.find(".target");
    if (text.find(".version") == std::string::npos || target == std::string::npos) {
        *why = "the image is neither a fatbin (magic 0xba55ed50), a cubin nor PTX text";
        return kInvalidImage;
    }
    size_t sm = text.find("sm_", target);
    int arch = sm == std::string::npos ? 0 : std::atoi(text.c_str() + sm + 3);
    if (arch == 0 || arch > 90) {
        *why = "the PTX's .target is not compute_90 or older";
        return kNoBinaryForGpu;
    }
    size_t version = text.find(".version");
    int major = std::atoi(text.c_str() + version + 8), minor = 0;
    size_t dot = text.find('.', version + 8);
    if (dot != std::string::npos && dot < text.find('\n', version)) minor = std::atoi(text.c_str() + dot + 1);
    if (major * 10 + minor > max_ptx_isa(driver)) {
        *why = "the PTX is ISA " + isa_name(major * 10 + minor) + ", a " + cuda_name(driver) + " driver JIT-compiles ISA "
               + isa_name(max_ptx_isa(driver)) + " and older";
        return kUnsupportedPtxVersion;
    }
    ptx_entries(d, text.size(), &m->names);
    m->names_known = true;
    return kSuccess;
}

int parse_fatbin(const unsigned char* d, int driver, Module* m, std::string* why) {
    if (rd<uint32_t>(d) != kFatbinMagic) return parse_single(d, driver, m, why);
    uint16_t version = rd<uint16_t>(d + 4), header = rd<uint16_t>(d + 6);
    uint64_t total = rd<uint64_t>(d + 8);
    if (version != 1 || header < 16 || total == 0 || total > (4ull << 30)) {
        *why = "malformed fatbin header (version " + std::to_string(version) + ", header " + std::to_string(header)
               + " bytes, " + std::to_string(total) + " bytes of entries)";
        return kInvalidImage;
    }
    std::vector<Entry> entries;
    for (uint64_t off = header; off < header + total;) {
        if (header + total - off < 64) {
            *why = "malformed fatbin: a truncated entry header at offset " + std::to_string(off);
            return kInvalidImage;
        }
        const unsigned char* e = d + off;
        uint16_t kind = rd<uint16_t>(e);
        uint32_t ehs = rd<uint32_t>(e + 4);
        uint64_t size = rd<uint64_t>(e + 8);
        if (ehs < 64 || ehs > header + total - off || size > header + total - off - ehs) {
            *why = "malformed fatbin: entry at offset " + std::to_string(off) + " runs past the container";
            return kInvalidImage;
        }
        uint64_t flags = rd<uint64_t>(e + 40);
        // the code version: u16 minor at 24, u16 major at 26 ([9,0] for nvcc 13's PTX)
        int isa = rd<uint16_t>(e + 26) * 10 + rd<uint16_t>(e + 24);
        entries.push_back(Entry{kind, rd<uint32_t>(e + 28), isa, (flags & 0xA000) != 0, e + ehs, size});
        off += ehs + size;
    }
    // sm_90 machine code runs as is; compute_XY PTX with XY <= 90 is JIT-compiled for the device;
    // each only when the driver reads its format (an uncompressed ELF's ABI version, the PTX's ISA)
    const Entry* chosen = nullptr;
    std::string too_new;
    for (auto& e : entries)
        if (e.kind == 2 && e.arch == 90) {
            if (e.compressed || e.size < 16 || loads_elf_abi(driver, e.payload[8])) chosen = &e;
            else too_new += (too_new.empty() ? "" : "; ") + std::string("its sm_90 machine code is CUDA 13's ELF format (ABI version ")
                            + std::to_string(e.payload[8]) + ")";
        }
    if (!chosen)
        for (auto& e : entries)
            if (e.kind == 1 && e.arch <= 90) {
                if (e.isa > max_ptx_isa(driver))
                    too_new += (too_new.empty() ? "" : "; ") + std::string("its compute_") + std::to_string(e.arch) + " PTX is ISA "
                               + isa_name(e.isa);
                else if (!chosen || e.arch > chosen->arch) chosen = &e;
            }
    if (!chosen && !too_new.empty()) {
        *why = "the fatbin needs a newer driver than " + cuda_name(driver) + " (it JIT-compiles PTX ISA "
               + isa_name(max_ptx_isa(driver)) + " and older): " + too_new;
        return kUnsupportedPtxVersion;
    }
    if (!chosen) {
        std::string has;
        for (auto& e : entries)
            has += (has.empty() ? "" : ", ") + std::string(e.kind == 2 ? "sm_" : e.kind == 1 ? "compute_" : "kind?_")
                   + std::to_string(e.arch);
        *why = "no sm_90 machine code or compute_90 PTX in the fatbin (it has " + (has.empty() ? "nothing" : has) + ")";
        return kNoBinaryForGpu;
    }
    if (!chosen->compressed) {
        if (chosen->kind == 2) {
            if (!elf_functions(chosen->payload, chosen->size, &m->names)) {
                *why = "malformed fatbin: its sm_90 entry is not an ELF64 image";
                return kInvalidImage;
            }
        } else {
            ptx_entries(chosen->payload, chosen->size, &m->names);
        }
        m->names_known = true;
    }
    return kSuccess;
}

// {size:align} or p i l f d: each parameter's size and alignment.
bool parse_signature(const std::string& s, std::vector<Function::Param>* out) {
    for (size_t i = 0; i < s.size(); i++) {
        switch (s[i]) {
        case 'p': case 'l': case 'd': out->push_back({8, 8, s[i]}); break;
        case 'i': case 'f': out->push_back({4, 4, s[i]}); break;
        case '{': {
            size_t colon = s.find(':', i), close = s.find('}', i);
            if (colon == std::string::npos || close == std::string::npos || colon > close) return false;
            uint64_t size = std::stoull(s.substr(i + 1, colon - i - 1)), align = std::stoull(s.substr(colon + 1, close - colon - 1));
            if (align == 0) return false;
            out->push_back({size, align, '{'});
            i = close;
            break;
        }
        default: return false;
        }
    }
    return true;
}

const jgan_emu::KernelEntry* find_kernel(const char* name) {
    for (int i = 0; i < jgan_emu_kernel_table_size; i++)
        if (std::strcmp(jgan_emu_kernel_table[i].name, name) == 0) return &jgan_emu_kernel_table[i];
    return nullptr;
}

}  // namespace

// ---- vgpu_core.h ---------------------------------------------------------------------------------

bool initialized() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().initialized;
}

void mark_initialized() {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    if (!g.initialized) g.fault_seen.clear();
    g.initialized = true;
}

void* primary_context() { return &primary_tag; }

int primary_retain() {
    std::lock_guard<std::mutex> l(st().mu);
    return ++st().primary_refs;
}

int primary_release() {
    std::lock_guard<std::mutex> l(st().mu);
    if (st().primary_refs == 0) return -1;
    return --st().primary_refs;
}

void* current_context() { return current; }

void set_current_context(void* context) { current = context; }

bool context_current() {
    if (current != &primary_tag) return false;
    std::lock_guard<std::mutex> l(st().mu);
    return st().primary_refs > 0;
}

bool valid_stream(void* stream) {
    if (is_null_stream(stream)) return true;
    std::lock_guard<std::mutex> l(st().mu);
    auto it = st().streams.find(static_cast<Stream*>(stream));
    return it != st().streams.end() && !(*it)->destroyed;
}

bool is_null_stream(void* stream) {
    auto v = reinterpret_cast<uintptr_t>(stream);
    return v == 0 || v == 1 || v == 2;
}

uint64_t enqueue(void* stream, const char* call, std::function<std::string()> work, Fault fault) {
    std::lock_guard<std::mutex> l(st().mu);
    return enqueue_locked(resolve(stream), Op{std::move(work), call, fault, {}});
}

void wait_for(void* stream, uint64_t position) {
    std::unique_lock<std::mutex> l(st().mu);
    drain(resolve(stream), position, l);
}

void synchronize(void* stream) {
    std::unique_lock<std::mutex> l(st().mu);
    Stream* s = resolve(stream);
    drain(s, s->queued, l);
}

void synchronize_all() {
    State& g = st();
    std::unique_lock<std::mutex> l(g.mu);
    drain(&g.legacy, g.legacy.queued, l);
    std::vector<Stream*> all(g.streams.begin(), g.streams.end());
    for (Stream* s : all) drain(s, s->queued, l);
}

int sticky_error() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().sticky;
}

bool refuse_null_stream(void* stream, const char* call) {
    if (!is_null_stream(stream)) return false;
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    g.counters[0]++;
    if (!g.strict) return false;
    g.last_message = std::string(call) + ": the NULL stream (" + hex(reinterpret_cast<uintptr_t>(stream))
                     + ") is refused under JGAN_VGPU_STRICT=1; use a stream of cuStreamCreate";
    return true;
}

bool strict() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().strict;
}

void note_error(const std::string& what) {
    std::lock_guard<std::mutex> l(st().mu);
    st().last_message = what;
}

void make_sticky(int status) {
    std::lock_guard<std::mutex> l(st().mu);
    if (st().sticky == 0) st().sticky = status;
}

void* stream_create(bool blocking) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    Stream* s = new Stream;
    s->blocking = blocking;
    g.streams.insert(s);
    start_worker(s);
    return s;
}

bool stream_destroy(void* stream) {
    State& g = st();
    std::unique_lock<std::mutex> l(g.mu);
    Stream* s = static_cast<Stream*>(stream);
    auto it = g.streams.find(s);
    if (it == g.streams.end() || s->destroyed) return false;
    drain(s, s->queued, l);
    s->destroyed = true;
    s->stop = true;
    g.progress.notify_all();
    l.unlock();
    if (s->worker.joinable()) s->worker.join();
    // the Stream object stays (leaked): queued work elsewhere may still name it as a dependency
    return true;
}

std::string check_device(uint64_t address, uint64_t bytes) {
    std::lock_guard<std::mutex> l(st().mu);
    return where_locked(address, bytes, false);
}

std::string check_pointer(uint64_t address) {
    std::lock_guard<std::mutex> l(st().mu);
    return where_locked(address, 0, true);
}

void* device_alloc(uint64_t bytes) {
    State& g = st();
    uint64_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    {
        std::lock_guard<std::mutex> l(g.mu);
        g.counters[3]++;
        if (rounded > g.capacity - g.used) return nullptr;
        g.used += rounded;
    }
    void* p = std::aligned_alloc(kAlignment, rounded);
    std::lock_guard<std::mutex> l(g.mu);
    if (!p) {
        g.used -= rounded;
        return nullptr;
    }
    std::memset(p, 0xFF, rounded);  // contents undefined: NaN until written
    g.live[reinterpret_cast<uintptr_t>(p)] = Block{bytes, rounded, false};
    g.counters[1]++;
    g.counters[2] += static_cast<int64_t>(rounded);
    return p;
}

bool is_allocation_base(uint64_t address) {
    std::lock_guard<std::mutex> l(st().mu);
    auto it = st().live.find(address);
    return it != st().live.end() && !it->second.free_pending;
}

bool mark_free_pending(uint64_t base) {
    std::lock_guard<std::mutex> l(st().mu);
    auto it = st().live.find(base);
    if (it == st().live.end() || it->second.free_pending) return false;
    it->second.free_pending = true;
    return true;
}

bool device_free(uint64_t base) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    auto it = g.live.find(base);
    if (it == g.live.end()) return false;
    Block b = it->second;
    g.live.erase(it);
    g.used -= b.rounded;
    g.counters[1]--;
    g.counters[2] -= static_cast<int64_t>(b.rounded);
    g.counters[4]++;
    std::memset(reinterpret_cast<void*>(base), 0xFF, b.rounded);
    g.freed[base] = b;
    g.freed_order.push_back(base);
    g.freed_bytes += b.rounded;
    while (g.freed_bytes > kQuarantineBytes && !g.freed_order.empty()) {
        uint64_t oldest = g.freed_order.front();
        g.freed_order.pop_front();
        auto f = g.freed.find(oldest);
        g.freed_bytes -= f->second.rounded;
        g.freed.erase(f);
        std::free(reinterpret_cast<void*>(oldest));
    }
    return true;
}

uint64_t device_capacity() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().capacity;
}

uint64_t device_used() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().used;
}

void* host_alloc(uint64_t bytes) {
    void* p = std::aligned_alloc(4096, (std::max<uint64_t>(bytes, 1) + 4095) / 4096 * 4096);
    if (!p) return nullptr;
    std::lock_guard<std::mutex> l(st().mu);
    st().pinned[reinterpret_cast<uintptr_t>(p)] = bytes;
    st().counters[6]++;
    return p;
}

bool host_free(void* p) {
    {
        std::lock_guard<std::mutex> l(st().mu);
        auto it = st().pinned.find(reinterpret_cast<uintptr_t>(p));
        if (it == st().pinned.end()) return false;
        st().pinned.erase(it);
        st().counters[6]--;
    }
    std::free(p);
    return true;
}

bool is_pinned(const void* p, uint64_t bytes) {
    std::lock_guard<std::mutex> l(st().mu);
    auto& m = st().pinned;
    uint64_t a = reinterpret_cast<uintptr_t>(p);
    auto it = m.upper_bound(a);
    if (it == m.begin()) return false;
    --it;
    return a >= it->first && a - it->first <= it->second && bytes <= it->second - (a - it->first);
}

void* event_create(unsigned flags) {
    auto e = std::make_shared<Event>();
    e->flags = flags;
    std::lock_guard<std::mutex> l(st().mu);
    st().events[e.get()] = e;
    return e.get();
}

bool valid_event(void* event) {
    std::lock_guard<std::mutex> l(st().mu);
    return st().events.count(event) != 0;
}

bool event_destroy(void* event) {
    std::lock_guard<std::mutex> l(st().mu);
    // a pending record keeps its Event alive (shared_ptr) until it has run
    return st().events.erase(event) != 0;
}

int event_record(void* event, void* stream) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    auto it = g.events.find(event);
    if (it == g.events.end()) return kInvalidHandle;
    std::shared_ptr<Event> e = it->second;
    e->recorded = true;
    e->complete = false;
    uint64_t generation = ++e->generation;
    e->stream = resolve(stream);
    e->position = enqueue_locked(e->stream, Op{[e, generation] {
        std::lock_guard<std::mutex> g2(st().mu);
        if (e->generation == generation) {
            e->complete = true;
            e->ms = now_ms();
        }
        return std::string();
    }, "cuEventRecord", Fault::illegal_address, {}});
    return kSuccess;
}

int event_synchronize(void* event) {
    State& g = st();
    std::unique_lock<std::mutex> l(g.mu);
    auto it = g.events.find(event);
    if (it == g.events.end()) return kInvalidHandle;
    std::shared_ptr<Event> e = it->second;
    if (e->recorded) drain(e->stream, e->position, l);
    return g.sticky;
}

int event_query(void* event) {
    std::lock_guard<std::mutex> l(st().mu);
    auto it = st().events.find(event);
    if (it == st().events.end()) return kInvalidHandle;
    return it->second->recorded && !it->second->complete ? kNotReady : st().sticky;
}

int event_elapsed(float* ms, void* start, void* stop) {
    std::lock_guard<std::mutex> l(st().mu);
    auto a = st().events.find(start), b = st().events.find(stop);
    if (a == st().events.end() || b == st().events.end()) return kInvalidHandle;
    const Event &s = *a->second, &e = *b->second;
    constexpr unsigned kDisableTiming = 0x2;
    if ((s.flags & kDisableTiming) || (e.flags & kDisableTiming) || !s.recorded || !e.recorded) return kInvalidHandle;
    if (!s.complete || !e.complete) return kNotReady;
    *ms = static_cast<float>(e.ms - s.ms);
    return kSuccess;
}

int driver_version() {
    std::lock_guard<std::mutex> l(st().mu);
    return st().driver_version;
}

int module_load(const void* image, void** module, std::string* why) {
    auto m = std::make_unique<Module>();
    int rc = parse_fatbin(static_cast<const unsigned char*>(image), driver_version(), m.get(), why);
    if (rc != kSuccess) return rc;
    std::lock_guard<std::mutex> l(st().mu);
    *module = m.get();
    st().modules.insert(m.release());
    return kSuccess;
}

bool module_unload(void* module) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    auto it = g.modules.find(static_cast<Module*>(module));
    if (it == g.modules.end()) return false;
    for (auto& f : (*it)->functions) g.functions.erase(f.get());
    // queued launches hold the kernel entry and packed arguments, not the Function: it can go
    delete *it;
    g.modules.erase(it);
    return true;
}

int module_function(void* module, const char* name, void** function, std::string* why) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    auto it = g.modules.find(static_cast<Module*>(module));
    if (it == g.modules.end()) {
        *why = "not a loaded module";
        return kInvalidHandle;
    }
    Module* m = *it;
    const jgan_emu::KernelEntry* k = find_kernel(name);
    if (!k) {
        *why = std::string("no kernel named ") + name + " among the virtual GPU's kernels (kernels/*.cu)";
        return kNotFound;
    }
    if (m->names_known && !m->names.count(name)) {
        *why = std::string("no kernel named ") + name + " in the module's sm_90 image";
        return kNotFound;
    }
    for (auto& f : m->functions)
        if (f->kernel == k) {
            *function = f.get();
            return kSuccess;
        }
    auto f = std::make_unique<Function>();
    f->kernel = k;
    f->signature = k->signature();
    f->module = m;
    if (!parse_signature(f->signature, &f->params)) {
        *why = std::string("kernel ") + name + " has a signature the virtual GPU cannot pack: " + f->signature;
        return kNotFound;
    }
    *function = f.get();
    g.functions.insert(f.get());
    m->functions.push_back(std::move(f));
    return kSuccess;
}

bool valid_function(void* function) {
    std::lock_guard<std::mutex> l(st().mu);
    return st().functions.count(static_cast<Function*>(function)) != 0;
}

const char* function_name(void* function) { return static_cast<Function*>(function)->kernel->name; }

uint64_t launch_kernel(void* function, const unsigned grid[3], const unsigned block[3], unsigned shared_bytes,
                       void* stream, void** kernel_params) {
    const Function& f = *static_cast<Function*>(function);
    // kernelParams are read now: the values are copied when cuLaunchKernel is called
    std::vector<unsigned char> packed;
    std::vector<std::pair<size_t, uint64_t>> pointers;  // (argument index, value)
    uint64_t off = 0;
    for (size_t i = 0; i < f.params.size(); i++) {
        const Function::Param& p = f.params[i];
        off = (off + p.align - 1) / p.align * p.align;
        packed.resize(off + p.size);
        std::memcpy(packed.data() + off, kernel_params[i], p.size);
        if (p.kind == 'p') {
            uint64_t v;
            std::memcpy(&v, packed.data() + off, 8);
            pointers.emplace_back(i, v);
        }
        off += p.size;
    }
    packed.resize(std::max<uint64_t>(off, f.kernel->bytes()));
    const jgan_emu::KernelEntry* k = f.kernel;
    std::string signature = f.signature;
    uint32_t g3[3] = {grid[0], grid[1], grid[2]}, b3[3] = {block[0], block[1], block[2]};
    {
        std::lock_guard<std::mutex> l(st().mu);
        st().counters[5]++;
    }
    return enqueue(stream, "cuLaunchKernel", [k, signature, packed, pointers, g3, b3, shared_bytes]() -> std::string {
        for (auto& p : pointers) {
            if (p.second == 0) continue;
            std::string why = check_pointer(p.second);
            if (!why.empty()) return std::string("kernel ") + k->name + " argument " + std::to_string(p.first) + ": " + why;
        }
        char error[512] = {0};
        if (jgan_emu_launch(k->name, g3, b3, shared_bytes, packed.data(), packed.size(), signature.c_str(), error,
                            sizeof error) != 0)
            return std::string("kernel ") + k->name + ": " + error;
        return std::string();
    }, Fault::illegal_address);
}

bool inject(const char* kind, const char* call) {
    State& g = st();
    std::lock_guard<std::mutex> l(g.mu);
    int64_t n = ++g.fault_seen[kind];
    // calls of each kind since load, never reset (counters 8-11: alloc, launch, cublas, cudnn)
    static const char* kinds[] = {"alloc", "launch", "cublas", "cudnn"};
    for (int i = 0; i < 4; i++)
        if (std::strcmp(kind, kinds[i]) == 0) g.counters[8 + i]++;
    auto it = g.fault_plan.find(kind);
    if (it == g.fault_plan.end() || (it->second > 0 ? it->second != n : n < -it->second)) return false;
    // not printed: the failed call returns its status at once, and the caller's one line names it
    g.last_message = std::string("injected fault: ") + call;
    return true;
}

}  // namespace jgan_vgpu

using namespace jgan_vgpu;

extern "C" {

void jgan_vgpu_set_schedule(int schedule) {
    std::lock_guard<std::mutex> l(st().mu);
    st().schedule = schedule == 1 ? 1 : 0;
    st().progress.notify_all();
}

int jgan_vgpu_set_strict(int strict) {
    std::lock_guard<std::mutex> l(st().mu);
    int previous = st().strict ? 1 : 0;
    st().strict = strict != 0;
    return previous;
}

int jgan_vgpu_set_faults(const char* spec) {
    std::map<std::string, int64_t> plan;
    if (!parse_faults(spec, &plan)) return 1;
    std::lock_guard<std::mutex> l(st().mu);
    st().fault_plan = plan;
    st().fault_seen.clear();
    return 0;
}

int jgan_vgpu_last_error(char* out, int capacity) {
    std::lock_guard<std::mutex> l(st().mu);
    const std::string& m = st().last_message;
    if (out && capacity > 0) {
        size_t n = std::min<size_t>(m.size(), static_cast<size_t>(capacity - 1));
        std::memcpy(out, m.data(), n);
        out[n] = 0;
    }
    return static_cast<int>(m.size());
}

void jgan_vgpu_clear_error() {
    std::lock_guard<std::mutex> l(st().mu);
    st().sticky = 0;
    st().last_message.clear();
}

int jgan_vgpu_set_driver_version(int version) {
    std::lock_guard<std::mutex> l(st().mu);
    int previous = st().driver_version;
    if (version >= 1000) st().driver_version = version;
    return previous;
}

int64_t jgan_vgpu_counter(int which) {
    std::lock_guard<std::mutex> l(st().mu);
    return which >= 0 && which < 12 ? st().counters[which] : -1;
}

}  // extern "C"
