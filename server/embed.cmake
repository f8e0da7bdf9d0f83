# embed.cmake — writes a C file holding a text file as a byte array (cmake -P, at build time).
# Inputs: IN (file to embed), OUT (C file to write), NAME (symbol prefix).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* generated from ${IN} by embed.cmake; do not edit */\n#include <stddef.h>\nstatic const unsigned char data[] = {\n${bytes}0x00};\nconst char *const ${NAME} = (const char *)data;\nconst size_t ${NAME}_len = ${size};\n")
