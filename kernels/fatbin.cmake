# cmake -DNVCC=nvcc -DSOURCE=jgan_kernels.cu -DINCLUDE=kernels -DFATBIN=jgan_kernels.fatbin
#       -DLOG=ptxas.log -DREPORT=jgan_kernels.report -DKERNELS=a,b -DARCHS=sm_80,sm_90 -P fatbin.cmake
# Compiles the kernels into one fatbin (sm_80 and sm_90 machine code, compute_90 PTX) with
# ptxas -v, then turns ptxas's output into one tab-separated line per kernel and architecture
# (registers, spill stores and loads, stack frame, static shared memory, parameter constant
# bank). Fails when nvcc fails, when a kernel spills, or when a kernel of kernels/*.cu has no line
# for an architecture.
# -fmad=false: nvcc would otherwise contract a * b + c into one fused multiply-add (one rounding),
# while the host emulation is built with -ffp-contract=off (two roundings, as Java): with it the
# GPU and the emulation round alike. Where a kernel means an FMA it says so with __fmaf_rn, which
# -fmad=false leaves alone (nvcc's documentation: the flag controls contraction of separate
# multiplies and adds; the __fmaf_rn intrinsic is always a single FMA).
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

file(STRINGS ${LOG} lines)
string(REPLACE "," ";" kernels "${KERNELS}")
string(REPLACE "," ";" archs "${ARCHS}")

set(out "# kernel\tarch\tregisters\tspill_stores\tspill_loads\tstack_bytes\tshared_bytes\tparam_cmem_bytes\n")
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
      string(APPEND errors "  ${kernel} (${arch}) spills: ${stores} bytes stored, ${loads} bytes loaded\n")
    endif()
    set(kernel "")
  endif()
endforeach()

foreach(k IN LISTS kernels)
  foreach(a IN LISTS archs)
    if(NOT seen_${k}_${a})
      string(APPEND errors "  ${k} has no ptxas report for ${a}\n")
    endif()
  endforeach()
endforeach()

file(WRITE ${REPORT} "${out}")
if(errors)
  file(REMOVE ${REPORT})
  message(FATAL_ERROR "jgan kernels: register spills or missing kernels (every kernel must compile without spills):\n${errors}")
endif()
