# ctest script (tests/unit/CMakeLists.txt, layers_*): proves a layer's include path lets it
# include what it may and nothing else.
#
#   cmake -DCXX=<compiler> -DINCLUDES=<dir|dir|...> -DALLOWED=<header> -DFORBIDDEN=<header>
#         -DWORK=<scratch dir> -P check_include.cmake
#
# Compiles (syntax only) one file including ALLOWED, which must succeed (so the check cannot
# pass because the compiler or the flags are broken), and one including FORBIDDEN, which
# must fail because the header is not found.
foreach(var CXX INCLUDES ALLOWED FORBIDDEN WORK)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_include.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" dirs "${INCLUDES}")
set(flags -std=c++20 -fsyntax-only)
foreach(dir IN LISTS dirs)
  list(APPEND flags "-I${dir}")
endforeach()
file(MAKE_DIRECTORY ${WORK})

function(try_header header out_result out_output)
  string(MAKE_C_IDENTIFIER "${header}" stem)
  set(source ${WORK}/${stem}.cc)
  file(WRITE ${source} "#include \"${header}\"\n")
  execute_process(COMMAND ${CXX} ${flags} ${source}
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  set(${out_result} ${result} PARENT_SCOPE)
  set(${out_output} "${output}" PARENT_SCOPE)
endfunction()

try_header("${ALLOWED}" result output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "control failed: including ${ALLOWED} should compile:\n${output}")
endif()
try_header("${FORBIDDEN}" result output)
if(result EQUAL 0)
  message(FATAL_ERROR "layering broken: ${FORBIDDEN} is reachable from this layer")
endif()
if(NOT output MATCHES "No such file")
  message(FATAL_ERROR "including ${FORBIDDEN} failed, but not for want of the file:\n${output}")
endif()
message(STATUS "ok: ${ALLOWED} compiles, ${FORBIDDEN} is out of reach")
