// precompiled.cpp — the translation unit that owns the shared precompiled header
// (cmake/build_speed.cmake); it defines nothing.
