# TURBOLM_CUDA=AUTO|ON|OFF decides whether src/kernels/cuda is built. Sets TURBOLM_WITH_CUDA.
set(TURBOLM_WITH_CUDA OFF)
if(NOT TURBOLM_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Hopper first (sm_90a for wgmma). Add sm_80 with -DCMAKE_CUDA_ARCHITECTURES="80;90a": the kernels use
      # only sm_80 features (mma.sync), so it costs one more device pass and nothing else.
      set(CMAKE_CUDA_ARCHITECTURES "90a" CACHE STRING "CUDA architectures")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(TURBOLM_WITH_CUDA ON)
    # CMake before 3.27 does not know nvcc 13's C++20 flag (and takes CUDA_STANDARD from CXX_STANDARD).
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    message(STATUS "turbolm: CUDA backend ON (archs ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(TURBOLM_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TURBOLM_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "turbolm: CUDA backend OFF (nvcc not found)")
  endif()
endif()

option(TURBOLM_CUDA_PTXAS_VERBOSE "Print ptxas resource usage (registers, spills) for every CUDA kernel" OFF)

# Compile options every CUDA target of ours gets.
function(turbolm_set_cuda_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter>
    $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${TURBOLM_CUDA_PTXAS_VERBOSE}>>:-Xptxas=-v>)
  set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
endfunction()
