# ptb_write_if_changed(PATH CONTENT): writes a generated file only when its content changes, so
# that what depends on it is not rebuilt for nothing. For the cmake -P generator scripts.
function(ptb_write_if_changed path content)
  set(old "")
  if(EXISTS ${path})
    file(READ ${path} old)
  endif()
  if(NOT old STREQUAL content)
    file(WRITE ${path} "${content}")
  endif()
endfunction()
