/*
 * The stat-only floor for `npm run bench` (section `floor`): the least work any exporter must do
 * to read every process's CPU time — list PROCFS_DIR, and for each all-digit entry open, read
 * (one 4 KiB buffer) and close PROCFS_DIR/<pid>/stat. No parsing, no allocation, no other file:
 * joulemon's refresh is judged against this.
 *
 *   stat-floor PROCFS_DIR ROUNDS
 *
 * Prints one JSON line: {"rounds":[ms, ...],"entries":N,"errors":E} — per-round wall time
 * (CLOCK_MONOTONIC), the pids read in the last round, and the stat files that failed to open or
 * read in the last round (non-zero means the floor did less work than it claims).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int all_digits(const char *s) {
  if (*s == '\0') return 0;
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PROCFS_DIR ROUNDS\n", argv[0]);
    return 2;
  }
  const char *procfs = argv[1];
  const long rounds = strtol(argv[2], NULL, 10);
  if (rounds < 1) {
    fprintf(stderr, "ROUNDS must be at least 1\n");
    return 2;
  }
  double *times = malloc(sizeof(double) * (size_t)rounds);
  if (times == NULL) return 1;
  char buf[4096];
  char file[4096];
  long entries = 0;
  long errors = 0;
  for (long r = 0; r < rounds; r++) {
    entries = 0;
    errors = 0;
    const double t0 = now_ms();
    DIR *dir = opendir(procfs);
    if (dir == NULL) {
      perror(procfs);
      return 1;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      if (!all_digits(e->d_name)) continue;
      snprintf(file, sizeof file, "%s/%s/stat", procfs, e->d_name);
      entries++;
      const int fd = open(file, O_RDONLY);
      if (fd < 0) {
        errors++;
        continue;
      }
      if (read(fd, buf, sizeof buf) <= 0) errors++;
      close(fd);
    }
    closedir(dir);
    times[r] = now_ms() - t0;
  }
  printf("{\"rounds\":[");
  for (long r = 0; r < rounds; r++) printf("%s%.3f", r == 0 ? "" : ",", times[r]);
  printf("],\"entries\":%ld,\"errors\":%ld}\n", entries, errors);
  free(times);
  return 0;
}
