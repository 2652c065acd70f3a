/*
 * stdio_filter_plugin.h - the C ABI of stdio-filter's runtime stages, version 1.
 *
 * A plugin is a shared library (cc -shared -fPIC -o my.so my.c) that exports one function,
 * stdio_filter_plugin(), returning a description of the stages it provides: their names,
 * parameters and callbacks. stdio-filter loads it with `--plugin PATH.so` (on any command) or
 * from the directories of STDIO_FILTER_PLUGIN_PATH (colon-separated; every *.so in them), and its
 * stages then work like built-in ones: `stdio-filter stage NAME --param value IN OUT`, in
 * `run --chain "NAME:param=value,..."`, in pipes and in split runs (--zrange).
 *
 * The host streams the volume through the stage box by box: each call of process() gets one
 * output box (a slab of whole sections, or a part of one) and the input it needs, that box grown
 * by the stage's halo on every side, as contiguous float32 (X fastest, then Y, then Z). Voxels of
 * the halo that lie past the volume's faces are filled by repeating the edge voxel. The host never
 * holds the whole volume for a plugin stage; memory stays within its budget, which counts the
 * boxes and `working_bytes_per_voxel` of the plugin's own scratch per input voxel.
 *
 * Plain C99: usable from C, C++ (extern "C") and Rust (#[repr(C)]). No callback may keep a
 * pointer it was given after it returns, except the state that create() returns. Strings the
 * plugin returns in its descriptions must stay valid until the library is unloaded (static).
 *
 * Errors: a callback returns 0 on success, or nonzero after writing a one-line message (no
 * newline, NUL-terminated, at most error_capacity bytes including the NUL) into `error`; the host
 * prints it with the plugin's path and the stage's name, removes any partial output, and exits 1.
 */
#ifndef STDIO_FILTER_PLUGIN_H
#define STDIO_FILTER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header. A plugin returns the version it was built against; the host
 * refuses any other. */
#define SF_PLUGIN_ABI_VERSION 1

/* The name of the entry point every plugin exports (see sf_plugin_entry). */
#define SF_PLUGIN_ENTRY_NAME "stdio_filter_plugin"

/* What a parameter's value is. The host checks a value against its kind and range before the
 * plugin sees it, and gives every value to the plugin as text. */
typedef enum sf_parameter_kind {
    SF_PARAMETER_NUMBER = 1,  /* a finite decimal number within [minimum, maximum] */
    SF_PARAMETER_INTEGER = 2, /* a whole number within [minimum, maximum] */
    SF_PARAMETER_CHOICE = 3,  /* one of the comma-separated words of `choices` */
    SF_PARAMETER_STRING = 4   /* any text without ',' or ':' (those separate a chain) */
} sf_parameter_kind;

/* One parameter of a stage: `--name value` on the command line, `name=value` in a chain. */
typedef struct sf_parameter {
    const char *name;          /* lower case letters, digits and '-', starting with a letter */
    int32_t kind;              /* an sf_parameter_kind */
    const char *default_value; /* the value when none is given (valid for the kind); NULL: required */
    const char *unit;          /* shown after values ("voxels", "A"); NULL or "" for none */
    double minimum, maximum;   /* SF_PARAMETER_NUMBER and SF_PARAMETER_INTEGER: inclusive range */
    const char *choices;       /* SF_PARAMETER_CHOICE: the words, comma-separated ("low,high") */
    const char *help;          /* one line for `stdio-filter list` */
} sf_parameter;

/* A volume's size in voxels and its voxel size in Angstrom (0 where unknown), X, Y, Z. */
typedef struct sf_geometry {
    int64_t size[3];
    double voxel_size[3];
} sf_geometry;

/* A box of voxels: its first voxel's position in the volume and its size, X, Y, Z. The input box
 * of a process() call may start at negative positions and end past the volume (the halo). */
typedef struct sf_box {
    int64_t origin[3];
    int64_t size[3];
} sf_box;

/* One stage. */
typedef struct sf_stage {
    const char *name;    /* lower case letters, digits and '-'; must not be a built-in stage's */
    const char *summary; /* one line for `stdio-filter list` */
    const sf_parameter *parameters;
    int32_t parameter_count;
    /* Nonzero: process() may run on several threads at once with the same state (on different
     * boxes); zero: the host calls it from one thread at a time. */
    int32_t thread_safe;
    /* Bytes of scratch memory process() allocates per voxel of its input box (0 if none): the
     * host's memory plan counts it. */
    double working_bytes_per_voxel;

    /* Optional (may be NULL): checks the parameter values before any input is read.
     * `values` holds parameter_count texts in the order of `parameters`, defaults filled in. */
    int (*validate)(const char *const *values, char *error, size_t error_capacity);

    /* Prepares a run on a volume of geometry `input`: sets `output` (version 1: the same size;
     * the voxel size may change), the halo per axis (X, Y, Z; voxels of context the stage needs
     * on each side, 0 to 256) and `*state` (anything; given back to process() and destroy()). */
    int (*create)(const char *const *values, const sf_geometry *input, sf_geometry *output,
                  int32_t halo[3], void **state, char *error, size_t error_capacity);

    /* Filters one box: `input` holds input_box (= output_box grown by the halo) and `output`
     * receives output_box, both contiguous float32, X fastest. */
    int (*process)(void *state, const float *input, const sf_box *input_box,
                   float *output, const sf_box *output_box, char *error, size_t error_capacity);

    /* Releases the state (called once per successful create(), also after an error). */
    void (*destroy)(void *state);
} sf_stage;

/* What the entry point returns: the ABI version and the stages. */
typedef struct sf_plugin {
    int32_t abi_version; /* SF_PLUGIN_ABI_VERSION */
    int32_t stage_count;
    const sf_stage *stages;
} sf_plugin;

/* The entry point: `const sf_plugin *stdio_filter_plugin(void)`, returning a pointer to a
 * description that stays valid while the library is loaded. */
typedef const sf_plugin *(*sf_plugin_entry)(void);

#ifdef __cplusplus
}
#endif

#endif /* STDIO_FILTER_PLUGIN_H */
