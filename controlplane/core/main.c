/* SPDX-License-Identifier: BSD-3-Clause
 * mrelayd: mrelayd -c FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_pdump.h>
#ifdef MR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "appliance.h"
#include "config.h"
#include "mr_log.h"
#include "telemetry.h"

MR_LOG_REGISTER(mr_logtype_main, main);
#define MAIN_LOG(level, ...) MR_LOG(level, mr_logtype_main, "main", __VA_ARGS__)
#define MR_EXIT_CONFIG 2

static volatile int mr_stop;

/* The pid of the DPDK primary process that holds the runtime configuration of --file-prefix
 * prefix (the EAL's write lock on its config file), or 0 when none does. The EAL only says
 * "Cannot init config" and leaves rte_errno at 0 ("Success"). */
static long
mr_prefix_owner(const char *prefix)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	if (geteuid() == 0 || run == NULL)
		run = geteuid() == 0 ? "/var/run" : "/tmp";
	snprintf(path, sizeof(path), "%s/dpdk/%s/config", run, prefix);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
		fl.l_pid = 0;
	close(fd);
	return fl.l_pid;
}

static void
mr_on_signal(int sig)
{
	(void)sig;
	mr_stop = 1;
}

/* The EAL's cleanup takes the shared memory lock. A secondary process (dpdk-dumpcap,
 * dpdk-proc-info) killed while it held that lock (SIGINT or SIGKILL during its own EAL
 * init) leaves it held forever, and rte_eal_cleanup would spin on it: a stop that never
 * ends. Everything that matters is already stopped by then (workers, ports, the API), so
 * after MR_CLEANUP_TIMEOUT_S seconds mrelayd says why and exits without it; the kernel
 * releases the memory. */
#define MR_CLEANUP_TIMEOUT_S 5

static void
mr_on_cleanup_timeout(int sig)
{
	static const char msg[] = "MRELAY: main: EAL cleanup still waiting after 5 s for the "
		"shared memory lock, held by a DPDK secondary process (dpdk-dumpcap?) that was "
		"killed while holding it; exiting without the cleanup\n";
	ssize_t n;

	(void)sig;
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	_exit(0);
}

static void
mr_eal_cleanup(void)
{
	signal(SIGALRM, mr_on_cleanup_timeout);
	alarm(MR_CLEANUP_TIMEOUT_S);
	rte_eal_cleanup();
	alarm(0);
}

/* Tell systemd (Type=notify, $NOTIFY_SOCKET) how far we are; nothing without it. */
static void
mr_notify(const char *state)
{
#ifdef MR_HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: mrelayd -c FILE\n"
		"  -c, --config FILE   configuration (see docs/CONFIG.md)\n"
		"  -t, --check         load and check the configuration, then exit\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

/* Every WebSocket participant holds a socket (rooms.ws_max_connections, 65536 by default),
 * and the usual soft limit on descriptors is 1024: raise the soft limit to the hard one, which
 * needs no privilege. Returns the limit now in force (RLIM_INFINITY as is), 0 if unknown. */
static rlim_t
mr_raise_nofile(rlim_t *before)
{
	struct rlimit rl;

	*before = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	*before = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return *before;
	}
	return rl.rlim_cur;
}

/* Free 2 MB/1 GB hugepages, all sizes together. */
static long
mr_free_hugepages(void)
{
	glob_t g;
	size_t i;
	long total = 0;

	if (glob("/sys/kernel/mm/hugepages/hugepages-*/free_hugepages", 0, NULL, &g) != 0)
		return 0;
	for (i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		long n = 0;

		if (f != NULL) {
			if (fscanf(f, "%ld", &n) == 1)
				total += n;
			fclose(f);
		}
	}
	globfree(&g);
	return total;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct mr_config cfg;
	struct mr_appliance app;
	char err[1024], lcores[1024], mainl[16], loglvl[64];
	char *eal_argv[MR_MAX_EAL_ARGS + 16 + 2 * MR_MAX_PORTS];
	const char *path = NULL, *runtime_opt, *prefix;
	int c, eal_argc = 0, check = 0, rc, i, n_pci, pdump;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	rlim_t nofile, nofile_before;
	size_t off;
	long owner;

	while ((c = getopt_long(argc, argv, "c:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mrelayd 0.1.0\n");
			return 0;
		default:
			usage(stderr);
			return MR_EXIT_CONFIG;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return MR_EXIT_CONFIG;
	}
	if (mr_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "mrelayd: %s\n", err);
		return MR_EXIT_CONFIG;
	}
	if (check) {
		printf("%s: ok\n", path);
		mr_config_free(&cfg);
		return 0;
	}
	/* Before the EAL opens its own descriptors. */
	nofile = mr_raise_nofile(&nofile_before);
	if (mr_config_eal_find(&cfg, "--no-huge") < 0 &&
	    mr_config_eal_find(&cfg, "--in-memory") < 0 && mr_free_hugepages() == 0) {
		fprintf(stderr, "mrelayd: no free hugepages. Reserve some, e.g.\n"
			"  echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages\n"
			"or run without them: eal = [ \"--no-huge\", \"-m\", \"512\" ]; in %s\n",
			path);
		mr_config_free(&cfg);
		return 1;
	}

	/* EAL arguments: the lcore layout from the configuration, then the user's. An lcore id
	 * beyond the machine's CPUs shares a CPU (id modulo CPUs): useful for tests on small
	 * machines, never for production. */
	off = snprintf(lcores, sizeof(lcores), "%u@%ld", cfg.control_lcore,
		       cfg.control_lcore % ncpu);
	/* The workers, then the media lcores (mixing rooms). */
	for (i = 0; i < (int)(cfg.n_workers + cfg.n_media); i++) {
		unsigned int lc = i < (int)cfg.n_workers ? cfg.worker_lcores[i] :
			cfg.media_lcores[i - (int)cfg.n_workers];

		if (lc >= ncpu)
			fprintf(stderr, "mrelayd: warning: lcore %u shares CPU %ld "
				"(only %ld CPUs)\n", lc, lc % ncpu, ncpu);
		off += snprintf(lcores + off, sizeof(lcores) - off, ",%u@%ld", lc, lc % ncpu);
	}
	snprintf(mainl, sizeof(mainl), "%u", cfg.control_lcore);
	snprintf(loglvl, sizeof(loglvl), "mrelay.*:%d", cfg.log_level);
	eal_argv[eal_argc++] = argv[0];
	eal_argv[eal_argc++] = "--lcores";
	eal_argv[eal_argc++] = lcores;
	eal_argv[eal_argc++] = "--main-lcore";
	eal_argv[eal_argc++] = mainl;
	eal_argv[eal_argc++] = "--log-level";
	eal_argv[eal_argc++] = loglvl;
	/* No shared runtime files unless asked for: several instances can run side by side and
	 * nothing is left behind in /var/run/dpdk. What clashes with the eal list is never
	 * added, and the loader refused what the EAL would refuse (config.c check_eal). */
	runtime_opt = mr_config_eal_runtime_opt(&cfg);
	if (runtime_opt != NULL)
		eal_argv[eal_argc++] = (char *)runtime_opt;
	/* Only the PCI devices the ports name are probed: never a NIC the host is using. */
	n_pci = 0;
	for (i = 0; i < (int)cfg.n_ports; i++) {
		if (!mr_port_is_pci(&cfg.ports[i]))
			continue;
		eal_argv[eal_argc++] = "-a";
		eal_argv[eal_argc++] = cfg.ports[i].device;
		n_pci++;
	}
	if (n_pci == 0 && mr_config_eal_find(&cfg, "--no-pci") < 0)
		eal_argv[eal_argc++] = "--no-pci";
	for (i = 0; i < cfg.n_eal_args; i++)
		eal_argv[eal_argc++] = cfg.eal_args[i];
	eal_argv[eal_argc] = NULL;

	prefix = mr_config_eal_file_prefix(&cfg);
	owner = prefix != NULL ? mr_prefix_owner(prefix) : 0;
	if (owner != 0) {
		fprintf(stderr, "mrelayd: eal: --file-prefix %s is in use by a running DPDK "
			"process (pid %ld, another mrelayd?): stop it or give this instance "
			"another prefix\n", prefix, owner);
		mr_config_free(&cfg);
		return 1;
	}
	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		owner = prefix != NULL ? mr_prefix_owner(prefix) : 0;
		if (owner != 0)
			fprintf(stderr, "mrelayd: EAL initialisation failed: --file-prefix %s is "
				"in use by a running DPDK process (pid %ld)\n", prefix, owner);
		else if (rte_errno == 0)
			fprintf(stderr, "mrelayd: EAL initialisation failed (the EAL gave no "
				"reason: see its lines above)\n");
		else
			fprintf(stderr, "mrelayd: EAL initialisation failed: %s%s\n",
				rte_strerror(rte_errno),
				rte_errno == ENOMEM ? " (not enough memory: reserve hugepages or "
				"raise -m with --no-huge)" : "");
		mr_config_free(&cfg);
		return 1;
	}
	/* Every module's log type (mr_log.h); EAL --log-level options given in eal come after
	 * ours on its command line and have already refined this. */
	rte_log_set_level_pattern("mrelay.*", cfg.log_level);
	if (nofile == RLIM_INFINITY)
		MAIN_LOG(INFO, "open files: no limit\n");
	else
		MAIN_LOG(INFO, "open files: limit %llu (was %llu)\n",
			(unsigned long long)nofile, (unsigned long long)nofile_before);
	if (nofile != RLIM_INFINITY && nofile < (rlim_t)cfg.rooms.ws_max_connections + 1024)
		MAIN_LOG(WARNING, "open files: limit %llu is below "
			"rooms.ws_max_connections (%u) plus room for the rest; raise the hard "
			"limit (LimitNOFILE= in the systemd unit, ulimit -Hn)\n",
			(unsigned long long)nofile, cfg.rooms.ws_max_connections);

	/* dpdk-dumpcap (a secondary process) asks the primary over the multi-process channel
	 * to install its RX/TX callbacks: nothing runs on the ports until it does. That
	 * channel needs shared runtime files (--file-prefix, without --no-shconf/--in-memory). */
	pdump = rte_pdump_init() == 0;
	if (pdump)
		MAIN_LOG(INFO, "packet capture: dpdk-dumpcap can attach\n");
	else
		MAIN_LOG(INFO, "packet capture: unavailable (%s); dpdk-dumpcap needs "
			 "\"--file-prefix\", NAME in eal and no --no-shconf/--in-memory\n",
			 rte_strerror(rte_errno));

	signal(SIGINT, mr_on_signal);
	signal(SIGTERM, mr_on_signal);
	signal(SIGPIPE, SIG_IGN);

	memset(&app, 0, sizeof(app));
	rc = mr_appliance_start(&app, &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "mrelayd: %s\n", err);
		mr_appliance_stop(&app);
		mr_eal_cleanup();
		mr_config_free(&cfg);
		return 1;
	}
	mr_telemetry_start(&app);
	/* The ports are up, the workers run and the API listens. */
	mr_notify("READY=1\nSTATUS=relaying");
	mr_appliance_run(&app, &mr_stop);
	MAIN_LOG(INFO, "stopping\n");
	mr_notify("STOPPING=1");
	mr_telemetry_stop();
	if (pdump)
		rte_pdump_uninit();
	mr_appliance_stop(&app);
	mr_eal_cleanup();
	mr_config_free(&cfg);
	return 0;
}
