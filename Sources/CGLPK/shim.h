#ifndef CHORUS_CGLPK_SHIM_H
#define CHORUS_CGLPK_SHIM_H
/* GLPK, Debian's libglpk-dev: linear and integer programming for the joint disclosure audit. */
#include <glpk.h>
#endif
