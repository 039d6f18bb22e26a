# embed.cmake: writes IN (a text file) into OUT as a C array named NAME, terminated, so that a
# script can live in its own file and still be built into gpuctl. Run with cmake -P.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n    "
       bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by embed.cmake: do not edit. */\n"
     "const char ${NAME}[] = {\n    ${bytes}0x00};\n")
