/**
 * The most bytes joulemon reads from each kind of file (issue 16, item 2). Each limit is a
 * size the kernel's own file never reaches, so a file that is larger is not what it claims to
 * be (a symlink to a big file, a bind mount gone wrong) and is reported as malformed instead
 * of being read into memory. Documented for operators in docs/configuration.md ("Bounded reads").
 */

const KiB = 1024
const MiB = 1024 * KiB

/**
 * `/proc/<pid>/stat`: 52 numeric fields of at most 20 digits plus the comm, which the kernel
 * limits to 64 bytes (TASK_COMM_LEN, or a kthread's full name) and may escape: under 1.5 KiB.
 */
export const PID_STAT_LIMIT = 4 * KiB

/** `/proc/<pid>/comm`: the same ≤ 64-byte name and a newline. */
export const PID_COMM_LIMIT = 4 * KiB

/**
 * `/proc/<pid>/cgroup`: one line per hierarchy, each path at most PATH_MAX (4 KiB, the
 * kernfs_path buffer); a v1 host has about a dozen hierarchies, v2 one line. 128 KiB holds 30
 * lines of the longest path.
 */
export const PID_CGROUP_LIMIT = 128 * KiB

/**
 * `/proc/<pid>/cmdline` and `environ`: the argument and environment strings execve(2) copied,
 * which the kernel limits to 3/4 of _STK_LIM (8 MiB) together (bprm_stack_limits). Larger only
 * when a process with CAP_SYS_RESOURCE moved them with prctl(PR_SET_MM).
 */
export const PID_ARGS_LIMIT = 6 * MiB

/**
 * `/proc/stat`: one line per CPU (~200 bytes) plus `intr` with one count per interrupt; 8,192
 * CPUs with a hundred thousand interrupts come to about 4 MiB.
 */
export const PROC_STAT_LIMIT = 16 * MiB

/** `/proc/cpuinfo`: about 1.5–2 KiB per logical CPU on x86 (the flags line); 8,192 CPUs at 4 KiB. */
export const CPUINFO_LIMIT = 32 * MiB

/**
 * A sysfs attribute (powercap `energy_uj`, `name`, hwmon inputs): sysfs hands a show()
 * callback one page and never returns more; the largest page size Linux uses is 64 KiB.
 */
export const SYSFS_ATTRIBUTE_LIMIT = 64 * KiB

/**
 * joulemon's YAML config file and the Redfish BMC file: real ones are a few KiB; 1 MiB is far
 * above any hand-written config and keeps a mistaken path (a log, an image) from being parsed.
 */
export const CONFIG_FILE_LIMIT = 1 * MiB

/**
 * A cgroup CPU-usage file (v2 `cpu.stat`, v1 `cpuacct.usage`): a dozen `key value` lines or one
 * number. kernfs shows them through seq_file, which a page holds; 64 KiB as for sysfs.
 */
export const CGROUP_ATTRIBUTE_LIMIT = 64 * KiB

/**
 * The web config file (`web.configFile`, exporter-toolkit YAML): a few hundred bytes with a
 * bcrypt hash per user; 1 MiB would hold thousands of users. Read at start and, with TLS,
 * every minute (certificate rotation), so a mistaken path must not be parsed each time.
 */
export const WEB_CONFIG_LIMIT = 1 * MiB

/**
 * A PEM file the web config names (`cert_file`, `key_file`, `client_ca_file`). A certificate
 * or key is 1–4 KiB of PEM and a chain a few of them; the largest real one is a CA bundle, and
 * the whole public-CA bundle Debian ships (ca-certificates.crt, 144 CAs) is about 215 KiB.
 * 1 MiB holds four times that.
 */
export const PEM_FILE_LIMIT = 1 * MiB
