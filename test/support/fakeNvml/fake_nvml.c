/*
 * A fake libnvidia-ml.so.1 for joulemon's tests: the NVML entry points joulemon uses, with
 * NVIDIA's versioned symbol names and struct layouts (nvml.h), serving devices, energies,
 * processes and utilisation from the script file named by FAKE_NVML_SCRIPT. The file is re-read
 * whenever it changes (tests replace it atomically between refreshes), so joulemon loads and
 * calls this library exactly as it would the driver's. Format: see test/support/fakeNvml.ts.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_UNKNOWN = 999
};

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

#define MAX_DEVICES 16
#define MAX_PROCESSES 256
#define MAX_MIG 8
#define TEXT 96

struct handle {
  int device; /* index into devices */
  int mig;    /* -1: the full device; else index into that device's mig list */
};

struct proc {
  int device;
  unsigned int pid, sm, gi, ci;
  unsigned long long mem;
};

struct device {
  int present;
  char uuid[TEXT], name[TEXT];
  unsigned int power, compute_mode, mig, lost, energy_supported, util_supported, hang_ms;
  unsigned long long energy;
  int mig_count;
  unsigned int mig_gi[MAX_MIG];
};

struct state {
  int init_error;
  int device_count;
  struct device devices[MAX_DEVICES];
  int proc_count;
  struct proc procs[MAX_PROCESSES];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct state current;
static int loaded = 0;
static struct stat loaded_stat;
static struct handle handles[MAX_DEVICES];
static struct handle mig_handles[MAX_DEVICES][MAX_MIG];

/* Copies the next token of `line` (a word or a "quoted string") into out; returns the rest. */
static char *token(char *line, char *out, size_t size) {
  while (*line == ' ' || *line == '\t') line++;
  size_t n = 0;
  int quoted = 0;
  while (*line && *line != '\n') {
    if (*line == '"') { quoted = !quoted; line++; continue; }
    if (!quoted && (*line == ' ' || *line == '\t')) break;
    if (n + 1 < size) out[n++] = *line;
    line++;
  }
  out[n] = 0;
  return line;
}

static unsigned long long number(const char *v) { return strtoull(v, NULL, 10); }

/* Cuts a `#` comment off the line, unless the `#` is inside a quoted value. */
static void strip_comment(char *line) {
  int quoted = 0;
  for (char *c = line; *c; c++) {
    if (*c == '"') quoted = !quoted;
    else if (*c == '#' && !quoted) { *c = 0; return; }
  }
}

static void parse(FILE *f, struct state *s) {
  memset(s, 0, sizeof *s);
  char line[4096], tok[256];
  while (fgets(line, sizeof line, f)) {
    strip_comment(line);
    char kind[32];
    char *rest = token(line, kind, sizeof kind);
    if (!kind[0]) continue;
    int is_device = !strcmp(kind, "device");
    struct device d = { .energy_supported = 1, .util_supported = 1 };
    struct proc p = { .gi = 0xFFFFFFFFu, .ci = 0xFFFFFFFFu };
    /* The device a line is about: `index=` on a device line, `device=` on process and mig lines
       (where `index=` is the MIG device's ordinal, which is the order of the mig lines). */
    int index = -1, mig_gi = -1;
    while (*rest && *rest != '\n') {
      rest = token(rest, tok, sizeof tok);
      if (!tok[0]) break;
      char *eq = strchr(tok, '=');
      if (!eq) continue;
      *eq = 0;
      const char *k = tok, *v = eq + 1;
      if (!strcmp(k, "error")) s->init_error = (int)number(v);
      else if (!strcmp(k, "index")) { if (is_device) index = (int)number(v); }
      else if (!strcmp(k, "device")) { if (!is_device) index = (int)number(v); }
      else if (!strcmp(k, "uuid")) snprintf(d.uuid, TEXT, "%s", v);
      else if (!strcmp(k, "name")) snprintf(d.name, TEXT, "%s", v);
      else if (!strcmp(k, "power_mw")) d.power = (unsigned int)number(v);
      else if (!strcmp(k, "energy_mj")) d.energy = number(v);
      else if (!strcmp(k, "compute_mode")) d.compute_mode = (unsigned int)number(v);
      else if (!strcmp(k, "mig")) d.mig = (unsigned int)number(v);
      else if (!strcmp(k, "lost")) d.lost = (unsigned int)number(v);
      else if (!strcmp(k, "energy_supported")) d.energy_supported = (unsigned int)number(v);
      else if (!strcmp(k, "util_supported")) d.util_supported = (unsigned int)number(v);
      else if (!strcmp(k, "hang_ms")) d.hang_ms = (unsigned int)number(v);
      else if (!strcmp(k, "pid")) p.pid = (unsigned int)number(v);
      else if (!strcmp(k, "used_memory")) p.mem = number(v);
      else if (!strcmp(k, "sm_util")) p.sm = (unsigned int)number(v);
      else if (!strcmp(k, "gpu_instance")) { p.gi = (unsigned int)number(v); mig_gi = (int)number(v); }
      else if (!strcmp(k, "compute_instance")) p.ci = (unsigned int)number(v);
    }
    if (index < 0 || index >= MAX_DEVICES) continue;
    p.device = index;
    if (is_device) {
      /* mig lines may come before their device line: keep what they recorded. */
      d.present = 1;
      d.mig_count = s->devices[index].mig_count;
      memcpy(d.mig_gi, s->devices[index].mig_gi, sizeof d.mig_gi);
      s->devices[index] = d;
      if (index + 1 > s->device_count) s->device_count = index + 1;
    } else if (!strcmp(kind, "process") && s->proc_count < MAX_PROCESSES) {
      s->procs[s->proc_count++] = p;
    } else if (!strcmp(kind, "mig") && mig_gi >= 0 && s->devices[index].mig_count < MAX_MIG) {
      s->devices[index].mig_gi[s->devices[index].mig_count++] = (unsigned int)mig_gi;
    }
  }
}

/* Re-reads the script when it changed; returns 0 when there is no usable script. Holds `lock`. */
static int refresh(void) {
  const char *path = getenv("FAKE_NVML_SCRIPT");
  if (!path) return 0;
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  if (loaded && st.st_ino == loaded_stat.st_ino && st.st_size == loaded_stat.st_size &&
      st.st_mtim.tv_sec == loaded_stat.st_mtim.tv_sec && st.st_mtim.tv_nsec == loaded_stat.st_mtim.tv_nsec) {
    return 1;
  }
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  parse(f, &current);
  fclose(f);
  loaded = 1;
  loaded_stat = st;
  return 1;
}

/* Resolves a handle to (a copy of) its device under `lock`, then, unlocked, sleeps for hang_ms:
   other threads' calls go on while one hangs, as with a real driver. */
static nvmlReturn_t begin(const void *h, struct device *out, struct handle *which) {
  if (!h) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&lock);
  const struct handle *handle = h;
  int ok = refresh() && handle->device >= 0 && handle->device < current.device_count &&
           current.devices[handle->device].present &&
           handle->mig < current.devices[handle->device].mig_count;
  if (ok) { *out = current.devices[handle->device]; *which = *handle; }
  pthread_mutex_unlock(&lock);
  if (!ok) return NVML_ERROR_INVALID_ARGUMENT;
  if (out->hang_ms) {
    struct timespec t = { out->hang_ms / 1000, (long)(out->hang_ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {}
  }
  if (out->lost) return NVML_ERROR_GPU_IS_LOST;
  return NVML_SUCCESS;
}

/* The processes a handle sees: the whole device's, or one MIG instance's. */
static int processes_of(const struct handle *h, const struct device *d, struct proc *out) {
  int n = 0;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < current.proc_count; i++) {
    const struct proc *p = &current.procs[i];
    if (p->device != h->device) continue;
    if (h->mig >= 0 && p->gi != d->mig_gi[h->mig]) continue;
    out[n++] = *p;
  }
  pthread_mutex_unlock(&lock);
  return n;
}

nvmlReturn_t nvmlInit_v2(void) {
  pthread_mutex_lock(&lock);
  int ok = refresh();
  int error = current.init_error;
  pthread_mutex_unlock(&lock);
  if (!ok) return NVML_ERROR_DRIVER_NOT_LOADED;
  return error;
}

nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }

const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&lock);
  refresh();
  *count = (unsigned int)current.device_count;
  pthread_mutex_unlock(&lock);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  pthread_mutex_lock(&lock);
  refresh();
  int ok = index < (unsigned int)current.device_count && current.devices[index].present;
  if (ok) {
    handles[index].device = (int)index;
    handles[index].mig = -1;
  }
  pthread_mutex_unlock(&lock);
  if (!ok) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &handles[index];
  return NVML_SUCCESS;
}

static nvmlReturn_t copy_text(const char *text, char *out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(out, text, strlen(text) + 1);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(void *device, char *uuid, unsigned int length) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  return r ? r : copy_text(d.uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetName(void *device, char *name, unsigned int length) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  return r ? r : copy_text(d.name, name, length);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(void *device, unsigned int *power) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!power) return NVML_ERROR_INVALID_ARGUMENT;
  *power = d.power;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(void *device, unsigned long long *energy) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!d.energy_supported) return NVML_ERROR_NOT_SUPPORTED;
  if (!energy) return NVML_ERROR_INVALID_ARGUMENT;
  *energy = d.energy;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(void *device, unsigned int *count, nvmlProcessInfo_t *infos) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  static __thread struct proc found[MAX_PROCESSES];
  int n = processes_of(&h, &d, found);
  if (*count < (unsigned int)n || (n > 0 && !infos)) { *count = (unsigned int)n; return NVML_ERROR_INSUFFICIENT_SIZE; }
  for (int i = 0; i < n; i++) {
    infos[i].pid = found[i].pid;
    infos[i].usedGpuMemory = found[i].mem;
    infos[i].gpuInstanceId = found[i].gi;
    infos[i].computeInstanceId = found[i].ci;
  }
  *count = (unsigned int)n;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(void *device, nvmlProcessUtilizationSample_t *utilization,
                                             unsigned int *count, unsigned long long lastSeenTimeStamp) {
  (void)lastSeenTimeStamp;
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!d.util_supported) return NVML_ERROR_NOT_SUPPORTED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  static __thread struct proc found[MAX_PROCESSES];
  int n = processes_of(&h, &d, found);
  if (n == 0) return NVML_ERROR_NOT_FOUND;
  if (!utilization || *count < (unsigned int)n) { *count = (unsigned int)n; return NVML_ERROR_INSUFFICIENT_SIZE; }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  unsigned long long micros = (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000ULL;
  for (int i = 0; i < n; i++) {
    utilization[i].pid = found[i].pid;
    utilization[i].timeStamp = micros;
    utilization[i].smUtil = found[i].sm;
    utilization[i].memUtil = 0;
    utilization[i].encUtil = 0;
    utilization[i].decUtil = 0;
  }
  *count = (unsigned int)n;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeMode(void *device, int *mode) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!mode) return NVML_ERROR_INVALID_ARGUMENT;
  *mode = (int)d.compute_mode;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(void *device, unsigned int *current_mode, unsigned int *pending) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!current_mode || !pending) return NVML_ERROR_INVALID_ARGUMENT;
  *current_mode = d.mig;
  *pending = d.mig;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(void *device, unsigned int *count) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = d.mig ? (unsigned int)d.mig_count : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(void *device, unsigned int index, void **mig) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!mig || h.mig >= 0) return NVML_ERROR_INVALID_ARGUMENT;
  if (!d.mig || index >= (unsigned int)d.mig_count) return NVML_ERROR_NOT_FOUND;
  pthread_mutex_lock(&lock);
  mig_handles[h.device][index].device = h.device;
  mig_handles[h.device][index].mig = (int)index;
  pthread_mutex_unlock(&lock);
  *mig = &mig_handles[h.device][index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(void *device, unsigned int *id) {
  struct device d; struct handle h;
  nvmlReturn_t r = begin(device, &d, &h);
  if (r) return r;
  if (!id || h.mig < 0) return NVML_ERROR_INVALID_ARGUMENT;
  *id = d.mig_gi[h.mig];
  return NVML_SUCCESS;
}
