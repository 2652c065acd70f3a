/* threshold: the smallest complete stdio-filter plugin. Every voxel becomes `above` where it is
 * at least `level`, else `below` (a binary mask by default). No halo, thread-safe.
 *
 *   cc -shared -fPIC -O2 -I Sources/CStdioFilterPlugin/include -o threshold.so examples/plugins/threshold.c
 *   stdio-filter --plugin ./threshold.so stage threshold --level 0.5 in.mrc mask.mrc
 */
#include <stdio.h>
#include <stdlib.h>
#include "stdio_filter_plugin.h"

typedef struct { float level, below, above; } threshold_state;

static int create(const char *const *values, const sf_geometry *input, sf_geometry *output,
                  int32_t halo[3], void **state, char *error, size_t error_capacity) {
    threshold_state *s = malloc(sizeof *s);
    if (!s) { snprintf(error, error_capacity, "out of memory"); return 1; }
    s->level = strtof(values[0], NULL);
    s->below = strtof(values[1], NULL);
    s->above = strtof(values[2], NULL);
    *output = *input;
    halo[0] = halo[1] = halo[2] = 0;
    *state = s;
    return 0;
}

static int process(void *state, const float *input, const sf_box *input_box,
                   float *output, const sf_box *output_box, char *error, size_t error_capacity) {
    const threshold_state *s = state;
    (void)input_box; (void)error; (void)error_capacity;
    int64_t n = output_box->size[0] * output_box->size[1] * output_box->size[2];
    for (int64_t i = 0; i < n; i++) output[i] = input[i] >= s->level ? s->above : s->below;
    return 0;
}

static void destroy(void *state) { free(state); }

static const sf_parameter parameters[] = {
    {"level", SF_PARAMETER_NUMBER, NULL, "", -1e30, 1e30, NULL, "voxels at or above this value become `above`"},
    {"below", SF_PARAMETER_NUMBER, "0", "", -1e30, 1e30, NULL, "the value of voxels below the level"},
    {"above", SF_PARAMETER_NUMBER, "1", "", -1e30, 1e30, NULL, "the value of voxels at or above the level"},
};

static const sf_stage stages[] = {{
    "threshold", "binarise: `above` where a voxel reaches `level`, else `below`",
    parameters, 3, /* thread_safe */ 1, /* working_bytes_per_voxel */ 0,
    NULL, create, process, destroy,
}};

static const sf_plugin plugin = {SF_PLUGIN_ABI_VERSION, 1, stages};

const sf_plugin *stdio_filter_plugin(void) { return &plugin; }
