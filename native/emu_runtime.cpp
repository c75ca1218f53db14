// The runtime of the CUDA host emulation (see cuda_emulation.h for the model): a block's threads
// are fibers with a real barrier among them; blocks run in parallel on a small pool of OS threads;
// jgan_emu_launch is the C entry point Java calls through the FFM API (EmulatedLauncher).
#include "cuda_emulation.h"
#include "emu_runtime.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace jgan_emu {

thread_local ThreadCoords* tls_thread = nullptr;
thread_local BlockState* tls_block = nullptr;

namespace {

// ---- fibers ------------------------------------------------------------------------------------

// 64 KiB a thread (the kernels use a few hundred bytes; libm a few KiB) plus a guard page.
constexpr std::size_t kStackBytes = 64 * 1024;
constexpr unsigned kMaxThreads = 1024;

#if defined(__x86_64__)
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack, stores
// the stack pointer in *save, and resumes the stack at load. A new fiber's stack is laid out so
// that the first switch "returns" into fiber_start, which calls r13(r12).
extern "C" void jgan_emu_switch(void** save, void* load);
extern "C" void jgan_emu_fiber_start();
asm(R"(
    .text
    .p2align 4
    .globl jgan_emu_switch
    .hidden jgan_emu_switch
    .type jgan_emu_switch,@function
jgan_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size jgan_emu_switch, .-jgan_emu_switch

    .p2align 4
    .globl jgan_emu_fiber_start
    .hidden jgan_emu_fiber_start
    .type jgan_emu_fiber_start,@function
jgan_emu_fiber_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size jgan_emu_fiber_start, .-jgan_emu_fiber_start
)");

struct Context {
    void* sp = nullptr;
};

void context_init(Context& c, char* stack_top, void (*entry)(void*), void* arg) {
    auto* top = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(stack_top) & ~uintptr_t(15));
    uint64_t* sp = top - 10;  // 80 bytes: after the switch's ret, rsp = top - 16 is 16-byte aligned
    uint32_t mxcsr = 0x1F80u;  // the defaults: round to nearest, all exceptions masked
    uint16_t fpucw = 0x037Fu;
    sp[0] = 0;
    std::memcpy(&sp[0], &mxcsr, 4);
    std::memcpy(reinterpret_cast<char*>(&sp[0]) + 4, &fpucw, 2);
    sp[1] = 0;                                                  // r15
    sp[2] = 0;                                                  // r14
    sp[3] = reinterpret_cast<uint64_t>(entry);                  // r13
    sp[4] = reinterpret_cast<uint64_t>(arg);                    // r12
    sp[5] = 0;                                                  // rbx
    sp[6] = 0;                                                  // rbp
    sp[7] = reinterpret_cast<uint64_t>(&jgan_emu_fiber_start);  // return address
    c.sp = sp;
}

inline void context_switch(Context& from, Context& to) { jgan_emu_switch(&from.sp, to.sp); }
#else
}  // namespace
}  // namespace jgan_emu
#include <ucontext.h>
namespace jgan_emu {
namespace {
// Portable fallback: ucontext (slower: a system call per switch for the signal mask).
struct Context {
    ucontext_t uc;
};
void context_init(Context& c, char* stack_top, void (*entry)(void*), void* arg) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack_top - kStackBytes;
    c.uc.uc_stack.ss_size = kStackBytes;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, reinterpret_cast<void (*)()>(entry), 1, arg);
}
inline void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---- one block at a time on one OS thread ------------------------------------------------------

enum class State { runnable, at_block_barrier, at_warp_barrier, done };

struct Fiber : ThreadCoords {
    Context context;
    State state = State::done;
    unsigned warp_generation = 0;
};

struct Warp {
    unsigned arrived = 0;   // lanes waiting at the current warp barrier
    unsigned mask = 0;      // the mask they wait with
    uint64_t slots[2][32];  // shuffle values, double-buffered by generation parity
};

struct Launch {
    const KernelEntry* kernel;
    const unsigned char* args;
    dim3 grid, block;
    unsigned shared_bytes;
    int schedule;  // 0: ascending thread order, 1: descending
};

struct Worker {
    char* stacks = nullptr;
    unsigned stack_count = 0;
    std::vector<Fiber> fibers;
    Context scheduler;
    BlockState block{};
    Warp warps[kMaxThreads / 32];
    unsigned live = 0, block_arrived = 0, existing_lanes_last_warp = 32;
    const Launch* launch = nullptr;
    std::vector<unsigned char> dynamic_shared;
    std::string error;

    ~Worker() {
        if (stacks) munmap(stacks, std::size_t(stack_count) * (kStackBytes + page()));
    }

    static std::size_t page() { return std::size_t(sysconf(_SC_PAGESIZE)); }

    void ensure_stacks(unsigned n) {
        if (n <= stack_count) return;
        if (stacks) munmap(stacks, std::size_t(stack_count) * (kStackBytes + page()));
        std::size_t each = kStackBytes + page();
        void* m = mmap(nullptr, each * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        stacks = static_cast<char*>(m);
        stack_count = n;
        for (unsigned i = 0; i < n; i++) mprotect(stacks + i * each, page(), PROT_NONE);  // guard below each stack
    }
    char* stack_top(unsigned i) const { return stacks + std::size_t(i + 1) * (kStackBytes + page()); }

    void note(const std::string& what) {
        if (error.empty()) error = what;
    }

    Fiber& current() { return *static_cast<Fiber*>(tls_thread); }

    void yield() { context_switch(current().context, scheduler); }

    void release_block_barrier() {
        for (Fiber& f : fibers)
            if (f.state == State::at_block_barrier) f.state = State::runnable;
        block_arrived = 0;
    }

    unsigned existing_lanes(unsigned warp) const {
        unsigned n = unsigned(fibers.size()), first = warp * 32;
        unsigned count = std::min(32u, n - first);
        return count == 32 ? 0xffffffffu : ((1u << count) - 1u);
    }

    // This lane waits until every lane of mask (that exists in the block) has arrived.
    void warp_arrive(unsigned mask) {
        Fiber& f = current();
        unsigned warp = f.linear >> 5, lane = f.linear & 31u;
        Warp& w = warps[warp];
        if (!(mask & (1u << lane))) note("a lane called a warp operation with a mask that excludes itself");
        if (w.arrived == 0) w.mask = mask;
        else if (w.mask != mask) note("lanes of one warp reached a warp operation with different masks");
        w.arrived |= 1u << lane;
        f.state = State::at_warp_barrier;
        if ((w.arrived & (w.mask & existing_lanes(warp))) == (w.mask & existing_lanes(warp))) {
            for (unsigned l = 0; l < 32; l++)
                if (w.arrived & (1u << l)) fibers[warp * 32 + l].state = State::runnable;
            w.arrived = 0;
        }
        yield();
    }

    static void fiber_main(void* arg) {
        Worker* self = static_cast<Worker*>(arg);
        const Launch* l = self->launch;
        l->kernel->call(l->kernel->fn, l->args);
        Fiber& f = self->current();
        f.state = State::done;
        self->live--;
        if (self->block_arrived > 0 && self->block_arrived == self->live) self->release_block_barrier();
        context_switch(f.context, self->scheduler);
        __builtin_unreachable();
    }

    void run_block(const Launch& l, uint64_t linear_block) {
        launch = &l;
        unsigned n = l.block.x * l.block.y * l.block.z;
        block.grid_dim = l.grid;
        block.block_dim = l.block;
        block.block_idx.x = unsigned(linear_block % l.grid.x);
        block.block_idx.y = unsigned(linear_block / l.grid.x % l.grid.y);
        block.block_idx.z = unsigned(linear_block / (uint64_t(l.grid.x) * l.grid.y));
        if (dynamic_shared.size() < l.shared_bytes + 16) dynamic_shared.resize(l.shared_bytes + 16);
        // uninitialised shared memory reads as NaN (all bits set), so a missing write is visible
        std::memset(dynamic_shared.data(), 0xff, dynamic_shared.size());
        block.dynamic_shared = dynamic_shared.data() + ((16 - reinterpret_cast<uintptr_t>(dynamic_shared.data()) % 16) % 16);
        block.dynamic_shared_bytes = l.shared_bytes;
        tls_block = &block;

        ensure_stacks(n);
        fibers.resize(n);
        for (unsigned i = 0; i < n; i++) {
            Fiber& f = fibers[i];
            f.thread_idx.x = i % l.block.x;
            f.thread_idx.y = i / l.block.x % l.block.y;
            f.thread_idx.z = i / (l.block.x * l.block.y);
            f.linear = i;
            f.state = State::runnable;
            f.warp_generation = 0;
            context_init(f.context, stack_top(i), &Worker::fiber_main, this);
        }
        for (unsigned w = 0; w < (n + 31) / 32; w++) warps[w].arrived = 0;
        live = n;
        block_arrived = 0;

        while (live > 0) {
            bool ran = false;
            for (unsigned k = 0; k < n; k++) {
                Fiber& f = fibers[l.schedule == 1 ? n - 1 - k : k];
                if (f.state != State::runnable) continue;
                ran = true;
                tls_thread = &f;
                context_switch(scheduler, f.context);
            }
            if (!ran) {
                unsigned at_block = 0, at_warp = 0;
                for (Fiber& f : fibers) {
                    at_block += f.state == State::at_block_barrier;
                    at_warp += f.state == State::at_warp_barrier;
                }
                note("deadlock in block (" + std::to_string(block.block_idx.x) + ", " + std::to_string(block.block_idx.y) + ", "
                     + std::to_string(block.block_idx.z) + "): " + std::to_string(at_block) + " threads wait at __syncthreads, "
                     + std::to_string(at_warp) + " at a warp operation whose lanes never all arrive");
                break;  // the stuck fibers are abandoned; their stacks are laid anew for the next block
            }
        }
        tls_thread = nullptr;
        tls_block = nullptr;
    }
};

thread_local Worker* tls_worker = nullptr;

Worker& worker() {
    if (!tls_worker) tls_worker = new Worker();  // lives as long as its OS thread (pool threads live forever)
    return *tls_worker;
}

// ---- blocks in parallel ---------------------------------------------------------------------------

struct Job {
    const Launch* launch = nullptr;
    uint64_t blocks = 0;
    std::atomic<uint64_t> next{0};
    std::string error;
    std::mutex error_lock;
};

void run_blocks(Job& job) {
    Worker& w = worker();
    w.error.clear();
    for (uint64_t b; (b = job.next.fetch_add(1)) < job.blocks;) {
        w.run_block(*job.launch, b);
        if (!w.error.empty()) {
            job.next.store(job.blocks);  // stop handing out blocks
            break;
        }
    }
    if (!w.error.empty()) {
        std::lock_guard<std::mutex> g(job.error_lock);
        if (job.error.empty()) job.error = w.error;
    }
}

class Pool {
public:
    explicit Pool(unsigned helpers) {
        for (unsigned i = 0; i < helpers; i++) threads_.emplace_back([this] { loop(); });
    }
    unsigned helpers() const { return unsigned(threads_.size()); }

    // Runs job on the caller and up to `helpers` pool threads; returns when all blocks are done.
    void run(Job& job, unsigned helpers) {
        std::unique_lock<std::mutex> g(lock_);
        job_ = &job;
        wanted_ = helpers;
        started_ = 0;
        finished_ = 0;
        generation_++;
        g.unlock();
        wake_.notify_all();
        run_blocks(job);
        g.lock();
        done_.wait(g, [&] { return finished_ == started_ && (started_ == wanted_ || job.next.load() >= job.blocks); });
        wanted_ = 0;  // late helpers of this generation take no part
        job_ = nullptr;
    }

private:
    void loop() {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> g(lock_);
        for (;;) {
            wake_.wait(g, [&] { return generation_ != seen; });
            seen = generation_;
            if (!job_ || started_ >= wanted_) continue;
            started_++;
            Job* job = job_;
            g.unlock();
            run_blocks(*job);
            g.lock();
            finished_++;
            done_.notify_all();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex lock_;
    std::condition_variable wake_, done_;
    Job* job_ = nullptr;
    uint64_t generation_ = 0;
    unsigned wanted_ = 0, started_ = 0, finished_ = 0;
};

std::mutex launch_lock;  // one launch at a time: like one CUDA stream
unsigned configured_workers = 0;
int configured_schedule = 0;
Pool* pool = nullptr;

Pool& the_pool() {
    if (!pool) {
        unsigned w = configured_workers ? configured_workers : std::max(1u, std::thread::hardware_concurrency());
        pool = new Pool(w - 1);
    }
    return *pool;
}

const KernelEntry* find_kernel(const char* name) {
    for (int i = 0; i < jgan_emu_kernel_table_size; i++)
        if (std::strcmp(jgan_emu_kernel_table[i].name, name) == 0) return &jgan_emu_kernel_table[i];
    return nullptr;
}

std::vector<std::string>& signatures() {
    static std::vector<std::string> s = [] {
        std::vector<std::string> v;
        for (int i = 0; i < jgan_emu_kernel_table_size; i++) v.push_back(jgan_emu_kernel_table[i].signature());
        return v;
    }();
    return s;
}

int report(char* error, uint64_t capacity, const std::string& what) {
    if (error && capacity > 0) {
        std::size_t n = std::min<std::size_t>(what.size(), capacity - 1);
        std::memcpy(error, what.data(), n);
        error[n] = 0;
    }
    return 1;
}

}  // namespace

void sync_block() {
    Worker& w = worker();
    Fiber& f = w.current();
    f.state = State::at_block_barrier;
    if (++w.block_arrived == w.live) w.release_block_barrier();
    w.yield();
}

void sync_warp(unsigned mask) {
    Worker& w = worker();
    w.current().warp_generation++;
    w.warp_arrive(mask);
}

uint64_t shuffle(unsigned mask, uint64_t value, int src_lane) {
    Worker& w = worker();
    Fiber& f = w.current();
    unsigned lane = f.linear & 31u;
    Warp& warp = w.warps[f.linear >> 5];
    unsigned bank = f.warp_generation++ & 1u;
    warp.slots[bank][lane] = value;
    w.warp_arrive(mask);
    if (src_lane < 0 || src_lane > 31 || !(mask & (1u << src_lane)) || !(w.existing_lanes(f.linear >> 5) & (1u << src_lane)))
        return value;
    return warp.slots[bank][src_lane];
}

unsigned ballot(unsigned mask, int predicate) {
    Worker& w = worker();
    Fiber& f = w.current();
    unsigned lane = f.linear & 31u, warp_index = f.linear >> 5;
    Warp& warp = w.warps[warp_index];
    unsigned bank = f.warp_generation++ & 1u;
    warp.slots[bank][lane] = predicate != 0;
    w.warp_arrive(mask);
    unsigned bits = 0, lanes = mask & w.existing_lanes(warp_index);
    for (unsigned l = 0; l < 32; l++)
        if ((lanes & (1u << l)) && warp.slots[bank][l]) bits |= 1u << l;
    return bits;
}

void fail(const char* what) { worker().note(what); }

}  // namespace jgan_emu

using namespace jgan_emu;

extern "C" {

__attribute__((visibility("default"))) int jgan_emu_kernel_count() { return jgan_emu_kernel_table_size; }

__attribute__((visibility("default"))) const char* jgan_emu_kernel_name(int i) {
    return i >= 0 && i < jgan_emu_kernel_table_size ? jgan_emu_kernel_table[i].name : nullptr;
}

__attribute__((visibility("default"))) const char* jgan_emu_kernel_signature(int i) {
    return i >= 0 && i < jgan_emu_kernel_table_size ? signatures()[i].c_str() : nullptr;
}

// workers: OS threads that run blocks (0: one per core); schedule: 0 ascending, 1 descending
// thread order within a block. Takes effect for later launches; the pool is made once.
__attribute__((visibility("default"))) void jgan_emu_configure(int workers, int schedule) {
    std::lock_guard<std::mutex> g(launch_lock);
    if (workers > 0 && !pool) configured_workers = unsigned(workers);
    configured_schedule = schedule;
}

// Runs kernel `name` on grid x block threads with `shared` bytes of dynamic shared memory and the
// packed arguments, and returns when it is done: 0, or 1 with one line in error.
__attribute__((visibility("default"))) int jgan_emu_launch(const char* name, const uint32_t* grid, const uint32_t* block,
                                                           uint32_t shared, const void* args, uint64_t arg_bytes,
                                                           const char* signature, char* error, uint64_t error_capacity) {
    const KernelEntry* k = find_kernel(name);
    if (!k) return report(error, error_capacity, std::string("no kernel named ") + name + " in the emulation library");
    std::string expected = k->signature();
    if (signature && expected != signature)
        return report(error, error_capacity, std::string(name) + " takes arguments (" + expected + ") but was given (" + signature + ")");
    if (arg_bytes != k->bytes())
        return report(error, error_capacity, std::string(name) + " takes " + std::to_string(k->bytes())
                                                 + " bytes of packed arguments, given " + std::to_string(arg_bytes));
    uint64_t threads = uint64_t(block[0]) * block[1] * block[2];
    if (block[0] == 0 || block[1] == 0 || block[2] == 0 || threads > kMaxThreads || block[2] > 64)
        return report(error, error_capacity, std::string(name) + ": block (" + std::to_string(block[0]) + ", "
                                                 + std::to_string(block[1]) + ", " + std::to_string(block[2])
                                                 + ") is empty or has more than 1024 threads");
    if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0 || grid[1] > 65535 || grid[2] > 65535 || grid[0] > 2147483647u)
        return report(error, error_capacity, std::string(name) + ": grid out of the device's limits");
    if (shared > 227 * 1024) return report(error, error_capacity, std::string(name) + ": more than 227 KiB of shared memory");

    std::lock_guard<std::mutex> g(launch_lock);
    std::vector<unsigned char> copy(static_cast<const unsigned char*>(args), static_cast<const unsigned char*>(args) + arg_bytes);
    Launch l{k, copy.data(), dim3(grid[0], grid[1], grid[2]), dim3(block[0], block[1], block[2]), shared, configured_schedule};
    Job job;
    job.launch = &l;
    job.blocks = uint64_t(grid[0]) * grid[1] * grid[2];
    try {
        Pool& p = the_pool();
        p.run(job, unsigned(std::min<uint64_t>(p.helpers(), job.blocks - 1)));
    } catch (const std::exception& e) {
        return report(error, error_capacity, std::string(name) + ": " + e.what());
    }
    if (!job.error.empty()) return report(error, error_capacity, std::string(name) + ": " + job.error);
    return 0;
}

}  // extern "C"
