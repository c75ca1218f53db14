# cmake -DNVCC=nvcc -DSOURCE=jgan_kernels.cu -DINCLUDE=kernels -DFATBIN=jgan_kernels.fatbin
#       -DPTX=jgan_kernels.ptx -DPTX_ISA=7.0 -DLOG=ptxas.log -DREPORT=jgan_kernels.report
#       -DKERNELS=a,b -DARCHS=sm_80,sm_90 -P fatbin.cmake
# Compiles the kernels into two images:
#  - one fatbin (sm_80 and sm_90 machine code, compute_90 PTX) with ptxas -v, for CUDA 13.0
#    drivers (R580) and newer;
#  - compute_80 PTX text whose `.version` is lowered to PTX_ISA, for older drivers, which
#    JIT-compile it at cuModuleLoadData (KernelImages.forDriver picks one of the two).
# ptxas's output for the fatbin becomes one tab-separated line per kernel and architecture
# (registers, spill stores and loads, stack frame, static shared memory, parameter constant
# bank). Fails when nvcc fails, when a kernel spills, when a kernel of kernels/*.cu has no line
# for an architecture, or when ptxas refuses the lowered PTX or it spills.
# -fmad=false: nvcc would otherwise contract a * b + c into one fused multiply-add (one rounding),
# while the host emulation is built with -ffp-contract=off (two roundings, as Java): with it the
# GPU and the emulation round alike. Where a kernel means an FMA it says so with __fmaf_rn, which
# -fmad=false leaves alone (nvcc's documentation: the flag controls contraction of separate
# multiplies and adds; the __fmaf_rn intrinsic is always a single FMA). In the PTX every such
# multiply and add carries an explicit rounding (mul.rn, add.rn), which the PTX ISA forbids
# ptxas, and so a driver's JIT, to contract: the PTX image keeps -fmad=false's rounding.
#
# Which NVIDIA drivers load what (looked at with a Python reading of the fatbin's entry
# headers, readelf on its ELFs, ptxas 13.0, and the ptxas and cuobjdump of Debian 12's
# nvidia-cuda-toolkit 11.8.89, unpacked with dpkg-deb -x for the purpose, not a build tool):
#  - fatbin entries: sm_80 ELF, sm_90 ELF (uncompressed), compute_90 PTX, ZSTD-compressed (entry
#    flag 0x8000, payload magic 28 b5 2f fd), code version [9,0]: PTX ISA 9.0, which only a CUDA
#    13.0 driver's JIT reads (the PTX ISA release notes: ISA 9.0 = CUDA 13.0; a driver refuses
#    newer PTX with CUDA_ERROR_UNSUPPORTED_PTX_VERSION).
#  - the ELFs: OS/ABI 0x41, ABI version 8, the SM in e_flags bits 8-15 (0x6005004 for sm_80),
#    .note.nv.tkinfo "ptxas, Cuda compilation tools, release 13.0, V13.0.88", .note.nv.cuinfo
#    toolkit 130. CUDA 11.8's ptxas writes OS/ABI 0x33, ABI version 7, the SM in bits 0-7
#    (0x500550), and CUDA 11.8's cuobjdump cannot read the CUDA 13 ELFs ("Support for 'sm_4' has
#    been removed": it reads the SM from the old bits). NVIDIA's minor version compatibility table
#    (docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html) supports what
#    CUDA 13.x builds on drivers >= 580 only (12.x: >= 525, 11.x: >= 450).
#  So the fatbin's floor is R580 (CUDA 13.0), whatever the README said.
#  - the lowered PTX: ISA 7.0 is the lowest that has .target sm_80 (ptxas 13: "PTX .version 6.5
#    does not support .target sm_80"); ptxas 13 assembles it for sm_80 and sm_90 and refuses any
#    instruction newer than the declared ISA (checked: a .b128 load under .version 7.0 gets
#    "Feature 'Type .b128' requires PTX ISA .version 8.3 or later"), and CUDA 11.8's ptxas
#    (the JIT of an R520 driver's generation) assembles the same file for sm_80, sm_86 and
#    sm_90 without spills, while it refuses ISA 8.0 ("Unsupported .version 8.0; current version
#    is '7.8'"). It is plain text, not a fatbin entry, so no decompressor is needed either
#    (fatbinary 13 compresses the fatbin's PTX with ZSTD by default, and compression has driver
#    floors of its own: RAPIDS' rapids_cuda_enable_fatbin_compression notes give nvcc's
#    size-tuned modes a CUDA 12 floor of driver 550.54.14).
#  The kernels alone would thus run on a CUDA 11.0 driver (R450); jgan's floor is set by its
#  libraries instead: cuBLAS 12 and the cuDNN builds for CUDA 12 need a CUDA 12.0 driver (R525),
#  cuBLAS 13 and cuDNN 9 for CUDA 13 need R580 (KernelImages.DRIVER_FLOOR).
execute_process(
  COMMAND ${NVCC} -fatbin -O3 -std=c++17 -fmad=false -I${INCLUDE}
          -gencode arch=compute_80,code=sm_80
          -gencode "arch=compute_90,code=[sm_90,compute_90]"
          -Xptxas -v ${SOURCE} -o ${FATBIN}
  OUTPUT_VARIABLE nvcc_out ERROR_VARIABLE nvcc_err RESULT_VARIABLE nvcc_result)
file(WRITE ${LOG} "${nvcc_out}${nvcc_err}")
if(NOT nvcc_result EQUAL 0)
  file(REMOVE ${FATBIN})
  message(FATAL_ERROR "nvcc failed (${nvcc_result}):\n${nvcc_out}${nvcc_err}")
endif()

# The PTX for older drivers: compute_80 (the oldest architecture jgan builds for), its
# `.version` (nvcc 13 writes 9.0) lowered to PTX_ISA, then assembled by ptxas for both
# architectures as the proof that it declares every feature it uses (its ptxas -v output: LOG.ptx).
execute_process(
  COMMAND ${NVCC} -ptx -O3 -std=c++17 -fmad=false -I${INCLUDE} -arch=compute_80 ${SOURCE} -o ${PTX}.nvcc
  OUTPUT_VARIABLE ptx_out ERROR_VARIABLE ptx_err RESULT_VARIABLE ptx_result)
if(NOT ptx_result EQUAL 0)
  message(FATAL_ERROR "nvcc -ptx failed (${ptx_result}):\n${ptx_out}${ptx_err}")
endif()
file(READ ${PTX}.nvcc ptx_text)
file(REMOVE ${PTX}.nvcc)
if(NOT ptx_text MATCHES "\n\\.version ([0-9]+\\.[0-9]+)\n\\.target sm_80\n")
  message(FATAL_ERROR "nvcc -ptx wrote no `.version X.Y` / `.target sm_80` lines")
endif()
set(nvcc_isa ${CMAKE_MATCH_1})
string(REGEX REPLACE "\n\\.version [0-9]+\\.[0-9]+\n" "\n.version ${PTX_ISA}\n" ptx_text "${ptx_text}")
file(WRITE ${PTX} "${ptx_text}")
get_filename_component(ptx_dir ${PTX} DIRECTORY)
set(ptx_log "")
foreach(a IN ITEMS sm_80 sm_90)
  execute_process(
    COMMAND ${NVCC} -cubin -arch=${a} -Xptxas -v ${PTX} -o ${ptx_dir}/jgan_kernels_ptx_${a}.cubin
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  file(REMOVE ${ptx_dir}/jgan_kernels_ptx_${a}.cubin)
  if(NOT rc EQUAL 0)
    file(REMOVE ${PTX})
    message(FATAL_ERROR "ptxas refuses the PTX lowered from ISA ${nvcc_isa} to ${PTX_ISA} for ${a} "
                        "(a kernel uses a feature newer than ISA ${PTX_ISA}):\n${out}${err}")
  endif()
  string(APPEND ptx_log "${out}${err}")
endforeach()
file(WRITE ${LOG}.ptx "${ptx_log}")

string(REPLACE "," ";" kernels "${KERNELS}")
string(REPLACE "," ";" archs "${ARCHS}")

# ptxas -v's lines of `log` as report lines (appended to the variable `out_var`) and what is
# wrong (a spill, a kernel without a line for an architecture) to `errors_var`, each prefixed `what`.
function(jgan_ptxas_report log what out_var errors_var)
  file(STRINGS ${log} lines)
  set(out "")
  set(errors "")
  set(kernel "")
  set(arch "")
  foreach(line IN LISTS lines)
    if(line MATCHES "Compiling entry function '([A-Za-z0-9_]+)' for '(sm_[0-9]+)'")
      set(kernel ${CMAKE_MATCH_1})
      set(arch ${CMAKE_MATCH_2})
      set(stack 0)
      set(stores 0)
      set(loads 0)
    elseif(kernel AND line MATCHES "([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, ([0-9]+) bytes spill loads")
      set(stack ${CMAKE_MATCH_1})
      set(stores ${CMAKE_MATCH_2})
      set(loads ${CMAKE_MATCH_3})
    elseif(kernel AND line MATCHES "Used ([0-9]+) registers")
      set(registers ${CMAKE_MATCH_1})
      set(shared 0)
      set(cmem 0)
      if(line MATCHES "([0-9]+) bytes smem")
        set(shared ${CMAKE_MATCH_1})
      endif()
      if(line MATCHES "([0-9]+) bytes cmem\\[0\\]")
        set(cmem ${CMAKE_MATCH_1})
      endif()
      string(APPEND out "${kernel}\t${arch}\t${registers}\t${stores}\t${loads}\t${stack}\t${shared}\t${cmem}\n")
      set(seen_${kernel}_${arch} 1)
      if(NOT stores EQUAL 0 OR NOT loads EQUAL 0)
        string(APPEND errors "  ${what}${kernel} (${arch}) spills: ${stores} bytes stored, ${loads} bytes loaded\n")
      endif()
      set(kernel "")
    endif()
  endforeach()
  foreach(k IN LISTS kernels)
    foreach(a IN LISTS archs)
      if(NOT seen_${k}_${a})
        string(APPEND errors "  ${what}${k} has no ptxas report for ${a}\n")
      endif()
    endforeach()
  endforeach()
  set(${out_var} "${${out_var}}${out}" PARENT_SCOPE)
  set(${errors_var} "${${errors_var}}${errors}" PARENT_SCOPE)
endfunction()

set(out "# kernel\tarch\tregisters\tspill_stores\tspill_loads\tstack_bytes\tshared_bytes\tparam_cmem_bytes\n")
set(errors "")
jgan_ptxas_report(${LOG} "" out errors)
# the lowered PTX must assemble as cleanly (a driver's JIT would meet the same spill); its
# lines stay out of the report, which describes the machine code in the fatbin
set(ptx_lines "")
jgan_ptxas_report(${LOG}.ptx "PTX ISA ${PTX_ISA}: " ptx_lines errors)

file(WRITE ${REPORT} "${out}")
if(errors)
  file(REMOVE ${REPORT})
  file(REMOVE ${PTX})
  message(FATAL_ERROR "jgan kernels: register spills or missing kernels (every kernel must compile without spills):\n${errors}")
endif()
