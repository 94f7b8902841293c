/* SPDX-License-Identifier: BSD-3-Clause
 * Unit tests for controlplane/config/config.c: values, defaults, and the exact error messages
 * ("file:line: key.path: what") for every class of mistake.
 *
 * Run from tests/ of the source tree (meson's workdir): the shipped files are loaded from
 * ../config/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "srtp.h"

/* The example of docs/CONFIG.md, one key per line where line numbers matter. */
static const char full_example[] =
	"eal = [ \"--no-huge\", \"-m\", \"512\" ];\n"
	"lcores = { control = 0; workers = [ 1 ]; idle_sleep_us = 0; };\n"
	"ports = ( { name = \"edge0\";\n"
	"            device = \"net_tap0,iface=mrelay0\";\n"
	"            address = \"198.18.0.1/24\"; gateway = \"198.18.0.254\";\n"
	"            address6 = \"2001:db8::1/64\"; gateway6 = \"2001:db8::fe\";\n"
	"            rx_queues = 1; rx_desc = 1024; tx_desc = 1024; vlan = 0; mtu = 0;\n"
	"            steering = \"auto\"; tx_checksum_offload = true; } );\n"
	"relay = { port_min = 30000; port_max = 39999; idle_timeout = 60;\n"
	"          relatch_timeout_ms = 5000;\n"
	"          max_sessions = 100000; ended_history = 1000; mbufs = 16383; };\n"
	"api = { listen = \"127.0.0.1:8080\"; token = \"\"; max_body = 65536; };\n"
	"log = { level = \"info\"; };\n";

/* Line 1: lcores; line 2..4: one port. Cases append or prepend to these. */
#define LCORES "lcores = { workers = [ 1 ]; };\n"
#define PORT0 \
	"ports = ( {\n" \
	"  name = \"edge0\"; device = \"net_tap0\";\n" \
	"  address = \"198.18.0.1/24\"; } );\n"
#define MINIMAL LCORES PORT0

static int
load(const char *text, struct mr_config *cfg, char *err, size_t len)
{
	return mr_config_load_string(text, "bad.conf", cfg, err, len);
}

static void
test_full_example(void **state)
{
	struct mr_config cfg;
	struct mr_ep gw;
	char err[256] = "";
	char buf[64];

	(void)state;
	assert_int_equal(mr_config_load_string(full_example, "ex.conf", &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.path, "ex.conf");
	assert_int_equal(cfg.n_eal_args, 3);
	assert_string_equal(cfg.eal_args[0], "--no-huge");
	assert_string_equal(cfg.eal_args[1], "-m");
	assert_string_equal(cfg.eal_args[2], "512");
	assert_null(cfg.eal_args[3]);
	assert_int_equal(cfg.control_lcore, 0);
	assert_int_equal(cfg.n_workers, 1);
	assert_int_equal(cfg.worker_lcores[0], 1);
	assert_int_equal(cfg.n_media, 0);
	assert_int_equal(cfg.idle_sleep_us, 0);

	assert_int_equal(cfg.n_ports, 1);
	assert_string_equal(cfg.ports[0].name, "edge0");
	assert_string_equal(cfg.ports[0].device, "net_tap0,iface=mrelay0");
	assert_int_equal(cfg.ports[0].addr4.family, MR_AF4);
	assert_int_equal(cfg.ports[0].addr4.len, 24);
	gw.family = MR_AF4;
	gw.port = 0;
	memcpy(gw.a, cfg.ports[0].addr4.a, 16);
	assert_string_equal(mr_ep_fmt(&gw, buf, sizeof(buf), 0), "198.18.0.1");
	assert_string_equal(mr_ep_fmt(&cfg.ports[0].gw4, buf, sizeof(buf), 0), "198.18.0.254");
	assert_int_equal(cfg.ports[0].addr6.family, MR_AF6);
	assert_int_equal(cfg.ports[0].addr6.len, 64);
	assert_int_equal(cfg.ports[0].addr6.a[0], 0x20);
	assert_int_equal(cfg.ports[0].addr6.a[15], 1);
	assert_string_equal(mr_ep_fmt(&cfg.ports[0].gw6, buf, sizeof(buf), 0), "2001:db8::fe");
	assert_int_equal(cfg.ports[0].rx_queues, 1);
	assert_int_equal(cfg.ports[0].rx_desc, 1024);
	assert_int_equal(cfg.ports[0].tx_desc, 1024);
	assert_int_equal(cfg.ports[0].vlan, 0);
	assert_int_equal(cfg.ports[0].mtu, 0);
	assert_int_equal(cfg.ports[0].steering, MR_STEER_AUTO);
	assert_int_equal(cfg.ports[0].tx_offload, 1);
	assert_int_equal(cfg.ports[0].line, 3);

	assert_int_equal(cfg.port_min, 30000);
	assert_int_equal(cfg.port_max, 39999);
	assert_int_equal(cfg.idle_timeout, 60);
	assert_int_equal(cfg.relatch_timeout_ms, 5000);
	assert_int_equal(cfg.latch_packets, 3);
	assert_int_equal(cfg.latch_window_ms, 60000);
	assert_int_equal(cfg.latch_signalled_only, 1);
	assert_int_equal(cfg.max_sessions, 100000);
	assert_int_equal(cfg.ended_history, 1000);
	assert_int_equal(cfg.mbufs, 16383);
	assert_string_equal(mr_ep_fmt(&cfg.api_listen, buf, sizeof(buf), 1), "127.0.0.1:8080");
	assert_string_equal(cfg.api_token, "");
	assert_int_equal(cfg.api_max_body, 65536);
	assert_int_equal(cfg.log_level, 7);
	mr_config_free(&cfg);
	assert_int_equal(cfg.n_eal_args, 0);
	assert_null(cfg.eal_args[0]);
	/* A second free is harmless. */
	mr_config_free(&cfg);
	mr_config_free(NULL);
}

static void
test_non_default_values(void **state)
{
	static const char text[] =
		"eal = ( \"-a\", \"0000:03:00.0\" );\n"
		"lcores = { control = 3; workers = ( 5, 4, 127 ); idle_sleep_us = 10000;\n"
		"           media = [ 6, 0 ]; };\n"
		"ports = ( { name = \"core.1\"; device = \"0000:03:00.0\";"
		" address6 = \"2001:db8::1/127\";\n"
		"            gateway6 = \"2001:db8::\"; rx_queues = 64; rx_desc = 64;"
		" tx_desc = 16384;\n"
		"            vlan = 4094; mtu = 9600; steering = \"rte_flow\"; },\n"
		"          { name = \"b\"; device = \"net_null0\"; address = \"198.18.0.0/31\";\n"
		"            gateway = \"198.18.0.1\"; mtu = 68; steering = \"software\";\n"
		"            tx_checksum_offload = false; },\n"
		"          { name = \"c\"; device = \"net_null1\";"
		" address = \"198.19.0.1/32\"; steering = \"rss\"; } );\n"
		"relay = { port_min = 1024; port_max = 1028; idle_timeout = 86400;\n"
		"          relatch_timeout_ms = 0; max_sessions = 4000000; ended_history = 0;\n"
		"          mbufs = 0; };\n"
		"api = { listen = \"[::1]:65535\"; token = \"s3cr3t-Tok3n-0123456789\"; max_body = 1024; };\n"
		"log = { level = \"debug\"; };\n";
	struct mr_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_eal_args, 2);
	assert_string_equal(cfg.eal_args[1], "0000:03:00.0");
	assert_int_equal(cfg.control_lcore, 3);
	assert_int_equal(cfg.n_workers, 3);
	assert_int_equal(cfg.worker_lcores[0], 5);
	assert_int_equal(cfg.worker_lcores[1], 4);
	assert_int_equal(cfg.worker_lcores[2], 127);
	assert_int_equal(cfg.n_media, 2);
	assert_int_equal(cfg.media_lcores[0], 6);
	assert_int_equal(cfg.media_lcores[1], 0);
	assert_int_equal(cfg.idle_sleep_us, 10000);
	assert_int_equal(cfg.n_ports, 3);
	assert_string_equal(cfg.ports[0].name, "core.1");
	assert_int_equal(cfg.ports[0].addr4.family, 0);
	assert_int_equal(cfg.ports[0].gw4.family, 0);
	assert_int_equal(cfg.ports[0].addr6.len, 127);
	assert_int_equal(cfg.ports[0].gw6.family, MR_AF6);
	assert_int_equal(cfg.ports[0].rx_queues, 64);
	assert_int_equal(cfg.ports[0].rx_desc, 64);
	assert_int_equal(cfg.ports[0].tx_desc, 16384);
	assert_int_equal(cfg.ports[0].vlan, 4094);
	assert_int_equal(cfg.ports[0].mtu, 9600);
	assert_int_equal(cfg.ports[0].steering, MR_STEER_RTE_FLOW);
	assert_int_equal(cfg.ports[0].line, 4);
	assert_int_equal(cfg.ports[1].addr4.len, 31);
	assert_int_equal(cfg.ports[1].addr6.family, 0);
	assert_int_equal(cfg.ports[1].mtu, 68);
	assert_int_equal(cfg.ports[1].steering, MR_STEER_SOFTWARE);
	assert_int_equal(cfg.ports[2].steering, MR_STEER_RSS);
	assert_int_equal(cfg.ports[1].tx_offload, 0);
	assert_int_equal(cfg.ports[1].line, 7);
	assert_int_equal(cfg.ports[2].addr4.len, 32);
	assert_int_equal(cfg.ports[2].tx_offload, 1);
	assert_int_equal(cfg.ports[2].line, 10);
	assert_int_equal(cfg.port_min, 1024);
	assert_int_equal(cfg.port_max, 1028);
	assert_int_equal(cfg.idle_timeout, 86400);
	assert_int_equal(cfg.relatch_timeout_ms, 0);
	assert_int_equal(cfg.max_sessions, 4000000);
	assert_int_equal(cfg.ended_history, 0);
	assert_int_equal(cfg.mbufs, 0);
	assert_int_equal(cfg.api_listen.family, MR_AF6);
	assert_int_equal(cfg.api_listen.port, 65535);
	assert_string_equal(cfg.api_token, "s3cr3t-Tok3n-0123456789");
	assert_int_equal(cfg.api_max_body, 1024);
	assert_int_equal(cfg.log_level, 8);
	mr_config_free(&cfg);
}

static void
test_defaults(void **state)
{
	struct mr_config cfg;
	char err[256] = "";
	char buf[64];

	(void)state;
	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_eal_args, 0);
	assert_int_equal(cfg.control_lcore, 0);
	assert_int_equal(cfg.n_workers, 1);
	assert_int_equal(cfg.idle_sleep_us, 0);
	assert_int_equal(cfg.n_ports, 1);
	assert_int_equal(cfg.ports[0].gw4.family, 0);
	assert_int_equal(cfg.ports[0].addr6.family, 0);
	assert_int_equal(cfg.ports[0].gw6.family, 0);
	assert_int_equal(cfg.ports[0].rx_queues, 1);
	assert_int_equal(cfg.ports[0].rx_desc, 1024);
	assert_int_equal(cfg.ports[0].tx_desc, 1024);
	assert_int_equal(cfg.ports[0].vlan, 0);
	assert_int_equal(cfg.ports[0].mtu, 0);
	assert_int_equal(cfg.ports[0].steering, MR_STEER_AUTO);
	assert_int_equal(cfg.ports[0].tx_offload, 1);
	assert_int_equal(cfg.ports[0].line, 2);
	assert_int_equal(cfg.port_min, 30000);
	assert_int_equal(cfg.port_max, 39999);
	assert_int_equal(cfg.idle_timeout, 60);
	assert_int_equal(cfg.relatch_timeout_ms, 5000);
	assert_int_equal(cfg.max_sessions, 100000);
	assert_int_equal(cfg.ended_history, 1000);
	assert_int_equal(cfg.mbufs, 16383);
	assert_string_equal(mr_ep_fmt(&cfg.api_listen, buf, sizeof(buf), 1), "127.0.0.1:8080");
	assert_string_equal(cfg.api_token, "");
	assert_int_equal(cfg.api_max_body, 131072);
	assert_int_equal(cfg.log_level, 7);
	mr_config_free(&cfg);

	/* What api.insecure = true allows, and the lists. */
	assert_int_equal(mr_config_load_string(MINIMAL "api = { listen = \"198.18.0.1:8080\"; "
			 "token = \"short\"; insecure = true; allowed_hosts = [ \"mrelay.example\" ];"
			 " allowed_origins = [ \"https://ops.example\", \"http://x:1\" ]; };\n",
			 "ok.conf", &cfg, buf, sizeof(buf)), 0);
	assert_int_equal(cfg.api_insecure, 1);
	assert_int_equal(cfg.n_api_hosts, 1);
	assert_string_equal(cfg.api_hosts[0], "mrelay.example");
	assert_int_equal(cfg.n_api_origins, 2);
	assert_string_equal(cfg.api_origins[1], "http://x:1");
	assert_int_equal(cfg.api_max_connections, 4096);
	assert_int_equal(cfg.api_header_timeout_ms, 5000);
	mr_config_free(&cfg);

	/* Empty groups keep every default too. */
	assert_int_equal(load(MINIMAL "relay = { };\napi = { };\nlog = { };\n", &cfg, err,
			      sizeof(err)), 0);
	assert_int_equal(cfg.port_max, 39999);
	assert_int_equal(cfg.log_level, 7);
	mr_config_free(&cfg);

	/* Only the v6 address: v4 stays unconfigured. */
	assert_int_equal(load(LCORES "ports = ( { name = \"a\"; device = \"b\";\n"
			      "address6 = \"2001:db8::1/64\"; } );\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].addr4.family, 0);
	assert_int_equal(cfg.ports[0].addr6.family, MR_AF6);
	mr_config_free(&cfg);
}

struct bad_case {
	const char *text;
	const char *where;	/* "bad.conf:LINE: key.path:" the message must start with */
	const char *what;	/* and a piece of the rest */
};

static void
run_bad(const struct bad_case *c, size_t n)
{
	struct mr_config cfg;
	char err[512];
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		memset(err, 0, sizeof(err));
		ret = load(c[i].text, &cfg, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("case %zu (%s): returned %d, message '%s'", i, c[i].where, ret,
				 err);
		if (strncmp(err, c[i].where, strlen(c[i].where)) != 0 ||
		    strstr(err + strlen(c[i].where), c[i].what) == NULL)
			fail_msg("case %zu: got '%s', want '%s ...%s...'", i, err, c[i].where,
				 c[i].what);
		/* Nothing is left allocated on failure. */
		assert_int_equal(cfg.n_eal_args, 0);
		assert_null(cfg.eal_args[0]);
	}
}

static void
test_syntax_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ MINIMAL "relay = {\n  port_min = ;\n};\n", "bad.conf:6:", "syntax error" },
		{ "lcores = { workers = [ 1 ]; ]\n", "bad.conf:1:", "syntax error" },
		{ "lcores = { workers = [ 1,\n \"a\" ]; };\n", "bad.conf:2:",
		  "mismatched element type" },
		/* An unterminated string runs to the end of the text: libconfig blames the
		 * last line. */
		{ MINIMAL "\n\napi = { listen = \"unterminated; };\n", "bad.conf:8:", "" },
		{ MINIMAL "relay = { port_min = 30000;\n  port_min = 30002; };\n", "bad.conf:6:",
		  "duplicate setting name" },
		{ "\x01\x02\x03", "bad.conf:1:", "syntax error" },
		{ "", "bad.conf:1: lcores:", "required group is missing" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_missing_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ PORT0, "bad.conf:1: lcores:", "required group is missing" },
		{ "\n" PORT0 "lcores = {\n  control = 0;\n};\n", "bad.conf:5: lcores.workers:",
		  "required key is missing" },
		{ LCORES "relay = { };\n", "bad.conf:1: ports:", "required list is missing" },
		{ LCORES "ports = ( );\n", "bad.conf:2: ports:", "at least one port" },
		{ LCORES "ports = ( { device = \"x\"; address = \"198.18.0.1/24\"; } );\n",
		  "bad.conf:2: ports.[0].name:", "required key is missing" },
		{ LCORES "ports = (\n"
		  "  { name = \"a\"; device = \"x\"; address = \"198.18.0.1/24\"; },\n"
		  "\n  {\n    name = \"b\";\n    address = \"198.18.1.1/24\";\n  } );\n",
		  "bad.conf:5: ports.[1].device:", "required key is missing" },
		{ LCORES "ports = (\n { name = \"a\"; device = \"x\";\n"
		  " gateway6 = \"2001:db8::fe\"; } );\n",
		  "bad.conf:4: ports.[0].gateway6:", "a gateway needs address6" },
		{ LCORES "ports = (\n { name = \"a\"; device = \"x\";\n vlan = 5; } );\n",
		  "bad.conf:3: ports.[0].address:", "needs address, address6 or both" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_unknown_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ MINIMAL "relay = {\n  port_min = 30000;\n  idel_timeout = 60;\n};\n",
		  "bad.conf:7: relay.idel_timeout:", "unknown key" },
		{ MINIMAL "\nrealy = { };\n", "bad.conf:6: realy:", "unknown key" },
		{ LCORES "ports = ( {\n  name = \"a\"; device = \"b\";\n"
		  "  adress = \"198.18.0.1/24\";"
		  " } );\n", "bad.conf:4: ports.[0].adress:", "unknown key" },
		{ "lcores = { workers = [ 1 ];\n  worker = [ 2 ]; };\n" PORT0,
		  "bad.conf:2: lcores.worker:", "unknown key" },
		{ MINIMAL "api = { listen = \"127.0.0.1:80\"; tokne = \"x\"; };\n",
		  "bad.conf:5: api.tokne:", "unknown key" },
		{ MINIMAL "log = { level = \"info\";\n  file = \"/tmp/x\"; };\n",
		  "bad.conf:6: log.file:", "unknown key" },
		{ MINIMAL "Relay = { };\n", "bad.conf:5: Relay:", "unknown key" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_wrong_types(void **state)
{
	static const struct bad_case cases[] = {
		{ MINIMAL "relay = {\n  port_min = \"30000\";\n};\n",
		  "bad.conf:6: relay.port_min:", "must be an integer, not a string" },
		{ MINIMAL "relay = { idle_timeout = 60.0; };\n",
		  "bad.conf:5: relay.idle_timeout:", "must be an integer, not a floating-point" },
		{ MINIMAL "relay = { max_sessions = true; };\n",
		  "bad.conf:5: relay.max_sessions:", "must be an integer, not a boolean" },
		{ "lcores = 1;\n" PORT0, "bad.conf:1: lcores:", "must be a group" },
		{ "lcores = { workers = 1; };\n" PORT0, "bad.conf:1: lcores.workers:",
		  "must be an array of lcore ids, not an integer" },
		{ "lcores = { workers = [ \"1\" ]; };\n" PORT0, "bad.conf:1: lcores.workers.[0]:",
		  "must be an integer, not a string" },
		{ "lcores = { workers = ( 1,\n 2.5 ); };\n" PORT0,
		  "bad.conf:2: lcores.workers.[1]:",
		  "must be an integer, not a floating-point" },
		{ LCORES "ports = { name = \"a\"; };\n", "bad.conf:2: ports:", "must be a list" },
		{ LCORES "ports = ( \"edge0\" );\n", "bad.conf:2: ports.[0]:", "must be a group" },
		{ LCORES "ports = ( {\n name = 5; device = \"x\"; } );\n",
		  "bad.conf:3: ports.[0].name:", "must be a string, not an integer" },
		{ LCORES "ports = ( {\n name = \"a\"; device = \"x\";\n"
		  " address = [ \"198.18.0.1/24\" ]; } );\n",
		  "bad.conf:4: ports.[0].address:", "must be a string, not an array" },
		{ MINIMAL "eal = \"--no-huge\";\n", "bad.conf:5: eal:",
		  "must be an array of strings" },
		{ MINIMAL "eal = [ 1 ];\n", "bad.conf:5: eal.[0]:",
		  "must be a string, not an integer" },
		{ MINIMAL "api = [ 1 ];\n", "bad.conf:5: api:", "must be a group" },
		{ MINIMAL "log = { level = 7; };\n", "bad.conf:5: log.level:",
		  "must be a string, not an integer" },
		{ MINIMAL "relay = { port_max = 1L; };\n", "bad.conf:5: relay.port_max:",
		  "must be between port_min + 4 (30004) and 65535" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_bad_addresses(void **state)
{
#define P(body) LCORES "ports = (\n{ name = \"a\"; device = \"x\";\n" body " } );\n"
	static const struct bad_case cases[] = {
		{ P("address = \"198.18.0.1/33\";"), "bad.conf:4: ports.[0].address:",
		  "'198.18.0.1/33' is not an address with a prefix length" },
		{ P("address = \"198.18.0.1\";"), "bad.conf:4: ports.[0].address:",
		  "is not an address with a prefix length" },
		{ P("address = \"198.18.0.1/24 \";"), "bad.conf:4: ports.[0].address:",
		  "is not an address with a prefix length" },
		{ P("address = \"edge.example/24\";"), "bad.conf:4: ports.[0].address:",
		  "is not an address with a prefix length" },
		{ P("address = \"2001:db8::1/64\";"), "bad.conf:4: ports.[0].address:",
		  "is not an IPv4 address (IPv6 goes in address6)" },
		{ P("address6 = \"198.18.0.1/24\";"), "bad.conf:4: ports.[0].address6:",
		  "is not an IPv6 address (IPv4 goes in address)" },
		{ P("address6 = \"2001:db8::1/129\";"), "bad.conf:4: ports.[0].address6:",
		  "is not an address with a prefix length" },
		{ P("address = \"198.18.0.0/24\";"), "bad.conf:4: ports.[0].address:",
		  "is the network address" },
		{ P("address = \"198.18.0.255/24\";"), "bad.conf:4: ports.[0].address:",
		  "is the broadcast address" },
		{ P("address = \"198.18.0.3/30\";"), "bad.conf:4: ports.[0].address:",
		  "is the broadcast address" },
		{ P("address = \"127.0.0.1/8\";"), "bad.conf:4: ports.[0].address:", "loopback" },
		{ P("address = \"224.0.0.1/24\";"), "bad.conf:4: ports.[0].address:", "multicast" },
		{ P("address = \"0.0.0.0/0\";"), "bad.conf:4: ports.[0].address:",
		  "not a host address" },
		{ P("address6 = \"2001:db8::/64\";"), "bad.conf:4: ports.[0].address6:",
		  "subnet-router anycast" },
		{ P("address6 = \"::1/128\";"), "bad.conf:4: ports.[0].address6:", "loopback" },
		{ P("address6 = \"ff02::1/64\";"), "bad.conf:4: ports.[0].address6:", "multicast" },
		{ P("address6 = \"::ffff:198.18.0.1/96\";"), "bad.conf:4: ports.[0].address6:",
		  "IPv4-mapped" },
		{ P("address = \"198.18.0.1/24\";\n gateway = \"198.18.1.254\";"),
		  "bad.conf:5: ports.[0].gateway:",
		  "'198.18.1.254' is not inside address 198.18.0.1/24" },
		{ P("address = \"198.18.0.1/32\";\n gateway = \"198.18.0.2\";"),
		  "bad.conf:5: ports.[0].gateway:", "is not inside address" },
		{ P("address = \"198.18.0.1/24\";\n gateway = \"198.18.0.1\";"),
		  "bad.conf:5: ports.[0].gateway:", "the port's own address" },
		{ P("address = \"198.18.0.1/24\";\n gateway = \"198.18.0.255\";"),
		  "bad.conf:5: ports.[0].gateway:", "broadcast" },
		{ P("address = \"198.18.0.1/24\";\n gateway = \"198.18.0.254/24\";"),
		  "bad.conf:5: ports.[0].gateway:", "is not an IPv4 address" },
		{ P("address = \"198.18.0.1/24\";\n gateway = \"2001:db8::fe\";"),
		  "bad.conf:5: ports.[0].gateway:", "is not an IPv4 address" },
		{ P("address6 = \"2001:db8:0:1::1/64\";\n gateway6 = \"2001:db8:0:2::fe\";"),
		  "bad.conf:5: ports.[0].gateway6:",
		  "'2001:db8:0:2::fe' is not inside address6 2001:db8:0:1::1/64" },
		{ P("address6 = \"2001:db8:0:1::1/64\";\n gateway6 = \"fe80::1%eth0\";"),
		  "bad.conf:5: ports.[0].gateway6:", "is not an IPv6 address" },
		{ P("address = \"198.18.0.1/24\"; gateway = \"\";"),
		  "bad.conf:4: ports.[0].gateway:", "is not an IPv4 address" },
	};
#undef P

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_bad_port_values(void **state)
{
#define P(body) LCORES "ports = (\n{ name = \"a\"; device = \"x\"; address = \"198.18.0.1/24\";\n" \
	body " } );\n"
	static const struct bad_case cases[] = {
		{ P("rx_queues = 0;"), "bad.conf:4: ports.[0].rx_queues:", "between 1 and 64" },
		{ P("rx_queues = 65;"), "bad.conf:4: ports.[0].rx_queues:", "between 1 and 64" },
		{ P("rx_queues = -1;"), "bad.conf:4: ports.[0].rx_queues:", "between 1 and 64" },
		{ P("rx_desc = 1000;"), "bad.conf:4: ports.[0].rx_desc:",
		  "power of two between 64 and 16384" },
		{ P("rx_desc = 32;"), "bad.conf:4: ports.[0].rx_desc:", "power of two" },
		{ P("tx_desc = 32768;"), "bad.conf:4: ports.[0].tx_desc:", "power of two" },
		{ P("tx_desc = 0;"), "bad.conf:4: ports.[0].tx_desc:", "power of two" },
		{ P("vlan = 4095;"), "bad.conf:4: ports.[0].vlan:", "between 0 and 4094" },
		{ P("mtu = 67;"), "bad.conf:4: ports.[0].mtu:",
		  "0 (device default) or between 68" },
		{ P("mtu = 9601;"), "bad.conf:4: ports.[0].mtu:", "and 9600" },
		{ P("address6 = \"2001:db8::1/64\";\nmtu = 1279;"), "bad.conf:5: ports.[0].mtu:",
		  "below 1280" },
		{ P("steering = \"fast\";"), "bad.conf:4: ports.[0].steering:",
		  "'fast' is not one of \"auto\", \"software\", \"rte_flow\"" },
		{ P("steering = \"AUTO\";"), "bad.conf:4: ports.[0].steering:", "is not one of" },
		{ P("tx_checksum_offload = 1;"), "bad.conf:4: ports.[0].tx_checksum_offload:",
		  "must be true or false, not an integer" },
		{ P("tx_checksum_offload = \"yes\";"),
		  "bad.conf:4: ports.[0].tx_checksum_offload:",
		  "must be true or false, not a string" },
		{ P("tx_offload = true;"), "bad.conf:4: ports.[0].tx_offload:", "unknown key" },
		{ P("rx_checksum = \"verify\";"), "bad.conf:4: ports.[0].rx_checksum:",
		  "'verify' is not one of \"auto\", \"trust\", \"recompute\"" },
		{ P("address_count = 0;"), "bad.conf:4: ports.[0].address_count:",
		  "between 1 and 256" },
		{ P("address_count = 257;"), "bad.conf:4: ports.[0].address_count:",
		  "between 1 and 256" },
		/* .1 to .255 would take the /24's broadcast address. */
		{ P("address_count = 255;"), "bad.conf:4: ports.[0].address_count:",
		  "255 addresses from 198.18.0.1 do not fit in /24" },
		{ P("gateway = \"198.18.0.9\";\naddress_count = 10;"),
		  "bad.conf:5: ports.[0].address_count:", "the gateway is one of the 10" },
		{ LCORES "ports = (\n{ name = \"a\"; device = \"x\"; address6 = \"2001:db8::1/64\";\n"
		  "address_count = 2; } );\n", "bad.conf:4: ports.[0].address_count:",
		  "needs an IPv4 address" },
		{ LCORES "ports = ( {\n name = \"\"; device = \"x\"; } );\n",
		  "bad.conf:3: ports.[0].name:", "1 to 31 characters" },
		{ LCORES "ports = ( {\n name = \"0123456789abcdef0123456789abcdef\"; } );\n",
		  "bad.conf:3: ports.[0].name:", "1 to 31 characters" },
		{ LCORES "ports = ( {\n name = \"edge 0\"; } );\n",
		  "bad.conf:3: ports.[0].name:", "may hold only letters" },
		{ LCORES "ports = ( {\n name = \"a\"; device = \"net_tap0, iface=x\"; } );\n",
		  "bad.conf:3: ports.[0].device:", "must not contain spaces" },
		{ LCORES "ports = ( {\n name = \"a\"; device = \"\"; } );\n",
		  "bad.conf:3: ports.[0].device:", "must be 1 to 255 characters" },
	};
#undef P

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_duplicates(void **state)
{
	static const struct bad_case cases[] = {
		{ LCORES "ports = (\n"
		  "{ name = \"edge0\"; device = \"net_tap0\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"edge0\"; device = \"net_tap1\"; address = \"198.18.1.1/24\"; } );\n",
		  "bad.conf:4: ports.[1].name:",
		  "'edge0' is already the name of ports.[0] (line 3)" },
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"0000:03:00.0\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"b\"; device = \"0000:03:00.1\"; address = \"198.18.1.1/24\"; },\n"
		  "{ name = \"c\";\n"
		  "  device = \"0000:03:00.0\"; address = \"198.18.2.1/24\"; } );\n",
		  "bad.conf:6: ports.[2].device:",
		  "'0000:03:00.0' is already the device of ports.[0] (line 3)" },
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"x\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"b\"; device = \"y\";\n address = \"198.18.0.1/16\"; } );\n",
		  "bad.conf:5: ports.[1].address:", "already that of ports.[0]" },
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"x\"; address6 = \"2001:db8::1/64\"; },\n"
		  "{ name = \"b\"; device = \"y\";\n address6 = \"2001:db8::1/64\"; } );\n",
		  "bad.conf:5: ports.[1].address6:", "already that of ports.[0]" },
		/* One PCI device spelled two ways (no domain, capitals, with devargs). */
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"0000:03:00.0\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"b\";\n device = \"03:00.0,txq_inline_max=0\"; address = \"198.18.1.1/24\"; } );\n",
		  "bad.conf:5: ports.[1].device:",
		  "'03:00.0,txq_inline_max=0' is already the device of ports.[0] (line 3), "
		  "spelled another way" },
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"0000:0a:00.1\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"b\";\n device = \"0000:0A:00.1\"; address = \"198.18.1.1/24\"; } );\n",
		  "bad.conf:5: ports.[1].device:", "spelled another way" },
		/* Two ports on one subnet. */
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"x\"; address = \"198.18.0.1/24\"; },\n"
		  "{ name = \"b\"; device = \"y\";\n address = \"198.18.0.2/25\"; } );\n",
		  "bad.conf:5: ports.[1].address:",
		  "on the same subnet as ports.[0].address (line 3)" },
		{ LCORES "ports = (\n"
		  "{ name = \"a\"; device = \"x\"; address6 = \"2001:db8::1/64\"; },\n"
		  "{ name = \"b\"; device = \"y\";\n address6 = \"2001:db8::2/64\"; } );\n",
		  "bad.conf:5: ports.[1].address6:",
		  "on the same subnet as ports.[0].address6 (line 3)" },
		{ "lcores = { workers = [ 1,\n 2, 1 ]; };\n" PORT0,
		  "bad.conf:2: lcores.workers.[2]:", "lcore 1 is listed twice" },
		{ "lcores = { control = 2; workers = [ 1, 2 ]; };\n" PORT0,
		  "bad.conf:1: lcores.workers.[1]:", "lcore 2 is the control lcore" },
		{ "lcores = { workers = [ 0 ]; };\n" PORT0,
		  "bad.conf:1: lcores.workers.[0]:", "lcore 0 is the control lcore" },
		/* lcores.media (mixing rooms) */
		{ "lcores = { workers = [ 1 ];\n media = [ 2, 1 ]; };\n" PORT0,
		  "bad.conf:2: lcores.media.[1]:", "lcore 1 is a worker (lcores.workers)" },
		{ "lcores = { workers = [ 1 ]; media = [ 0 ]; };\n" PORT0,
		  "bad.conf:1: lcores.media.[0]:", "lcore 0 is the control lcore" },
		{ "lcores = { workers = [ 1 ];\n media = [ 2, 2 ]; };\n" PORT0,
		  "bad.conf:2: lcores.media.[1]:", "lcore 2 is listed twice" },
		{ "lcores = { workers = [ 1 ]; media = [ 500 ]; };\n" PORT0,
		  "bad.conf:1: lcores.media.[0]:", "lcore id 500 is out of range" },
		{ "lcores = { workers = [ 1 ];\n media = 2; };\n" PORT0,
		  "bad.conf:2: lcores.media:", "must be an array of lcore ids" },
		{ "lcores = { workers = [ 1 ]; media = [ \"x\" ]; };\n" PORT0,
		  "bad.conf:1: lcores.media.[0]:", "" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_bad_lcores_eal(void **state)
{
	static const struct bad_case cases[] = {
		{ "lcores = { workers = [ ]; };\n" PORT0, "bad.conf:1: lcores.workers:",
		  "between 1 and 64 lcore ids" },
		{ "lcores = { workers = [ 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
		  "21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,"
		  "47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65 ]; };\n" PORT0,
		  "bad.conf:1: lcores.workers:", "between 1 and 64 lcore ids" },
		{ "lcores = { workers = [ -1 ]; };\n" PORT0, "bad.conf:1: lcores.workers.[0]:",
		  "lcore id -1 is out of range: must be between 0 and 127" },
		{ "lcores = { workers = [ 128 ]; };\n" PORT0, "bad.conf:1: lcores.workers.[0]:",
		  "out of range" },
		{ "lcores = { control = 128; workers = [ 1 ]; };\n" PORT0,
		  "bad.conf:1: lcores.control:", "between 0 and 127" },
		{ "lcores = { workers = [ 1 ];\n idle_sleep_us = 10001; };\n" PORT0,
		  "bad.conf:2: lcores.idle_sleep_us:", "between 0 and 10000" },
		{ MINIMAL "eal = [ \"--no-huge\", \"-l\", \"0-3\" ];\n", "bad.conf:5: eal.[1]:",
		  "'-l' is set by mrelayd" },
		{ MINIMAL "eal = [ \"-l0-3\" ];\n", "bad.conf:5: eal.[0]:", "is set by mrelayd" },
		{ MINIMAL "eal = [ \"--lcores=1@2\" ];\n", "bad.conf:5: eal.[0]:",
		  "is set by mrelayd" },
		{ MINIMAL "eal = [ \"--no-huge\",\n \"\" ];\n", "bad.conf:6: eal.[1]:",
		  "non-empty printable" },
		{ MINIMAL "eal = [ \"a\\tb\" ];\n", "bad.conf:5: eal.[0]:", "printable" },
		/* Options the EAL of DPDK 22.11 refuses together (with its whole usage text):
		 * one line naming the argument, long options also abbreviated. */
		{ MINIMAL "eal = [ \"--no-huge\",\n \"--in-memory\" ];\n", "bad.conf:6: eal.[1]:",
		  "'--in-memory' cannot be used with '--no-huge' (eal.[0]): DPDK 22.11 refuses" },
		{ MINIMAL "eal = [ \"--in-mem\", \"--legacy-mem\" ];\n", "bad.conf:5: eal.[0]:",
		  "'--in-mem' cannot be used with '--legacy-mem' (eal.[1])" },
		{ MINIMAL "eal = [ \"-m\", \"512\", \"--socket-mem=512\" ];\n",
		  "bad.conf:5: eal.[2]:", "cannot be used with '-m' (eal.[0]): both give" },
		{ MINIMAL "eal = [ \"--no-huge\", \"--socket-mem\", \"512\" ];\n",
		  "bad.conf:5: eal.[1]:", "'--socket-mem' cannot be used with '--no-huge'" },
		{ MINIMAL "eal = [ \"--no-huge\", \"--match-allocations\" ];\n",
		  "bad.conf:5: eal.[1]:", "cannot match allocations" },
		{ MINIMAL "eal = [ \"--no-huge\", \"--huge-unlink\" ];\n", "bad.conf:5: eal.[1]:",
		  "'--huge-unlink' cannot be used with '--no-huge' (eal.[0])" },
		{ MINIMAL "eal = [ \"--huge-unlink=always\", \"--no-huge\" ];\n",
		  "bad.conf:5: eal.[0]:", "no hugepage files" },
		{ MINIMAL "eal = [ \"--huge-unlink=never\", \"--in-memory\" ];\n",
		  "bad.conf:5: eal.[1]:", "'--huge-unlink=never'" },
		{ MINIMAL "eal = [ \"-a\", \"0000:01:00.0\", \"--block=0000:02:00.0\" ];\n",
		  "bad.conf:5: eal.[2]:", "cannot be used with '-a' (eal.[0]): the EAL takes" },
		{ MINIMAL "eal = [ \"--proc-type\", \"secondary\" ];\n", "bad.conf:5: eal.[0]:",
		  "--proc-type 'secondary': mrelayd runs only as the primary process" },
		{ MINIMAL "eal = [ \"--proc-type=auto\" ];\n", "bad.conf:5: eal.[0]:",
		  "--proc-type 'auto'" },
		/* ... and against what mrelayd adds: -a for each PCI port. */
		{ LCORES "ports = ( { name = \"a\"; device = \"0000:03:00.0\";\n"
		  " address = \"198.18.0.1/24\"; } );\neal = [ \"-b0000:02:00.0\" ];\n",
		  "bad.conf:4: eal.[0]:", "'-b0000:02:00.0' cannot be used with PCI ports: "
		  "mrelayd allows (-a) only the devices the ports name (ports.[0].device)" },
		{ LCORES "ports = ( { name = \"a\"; device = \"0000:03:00.0\";\n"
		  " address = \"198.18.0.1/24\"; } );\neal = [ \"--no-pci\" ];\n",
		  "bad.conf:4: eal.[0]:",
		  "'--no-pci' but ports.[0].device '0000:03:00.0' is a PCI" },
		/* The eal strings were copied before the error: they are freed (run_bad). */
		{ "eal = [ \"--no-huge\", \"-m\", \"512\" ];\n" PORT0, "bad.conf:1: lcores:",
		  "required group is missing" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A state group's first line; its next line is bad.conf:6. */
#define ST_A "state = { redis = \"127.0.0.1:6379\"; identity = \"a\";\n "

static void
test_bad_relay_api_log(void **state)
{
	static const struct bad_case cases[] = {
		{ MINIMAL "relay = { port_min = 30001; };\n", "bad.conf:5: relay.port_min:",
		  "must be an even number between 1024 and 65534" },
		{ MINIMAL "relay = { port_min = 1022; };\n", "bad.conf:5: relay.port_min:",
		  "must be an even number between 1024 and 65534" },
		{ MINIMAL "relay = { port_min = 65536; };\n", "bad.conf:5: relay.port_min:",
		  "even number" },
		{ MINIMAL "relay = { port_min = 30000;\n port_max = 30003; };\n",
		  "bad.conf:6: relay.port_max:", "must be between port_min + 4 (30004) and 65535" },
		{ MINIMAL "relay = { port_min = 30000;\n port_max = 65536; };\n",
		  "bad.conf:6: relay.port_max:", "and 65535" },
		{ MINIMAL "relay = { port_max = 20000; };\n", "bad.conf:5: relay.port_max:",
		  "port_min + 4" },
		{ MINIMAL "relay = {\n port_min = 40000; };\n", "bad.conf:5: relay.port_max:",
		  "the default 39999 is not above port_min + 3 (40003)" },
		{ MINIMAL "relay = { idle_timeout = 0; };\n", "bad.conf:5: relay.idle_timeout:",
		  "0 is out of range: must be between 1 and 86400" },
		{ MINIMAL "relay = { idle_timeout = 86401; };\n", "bad.conf:5: relay.idle_timeout:",
		  "between 1 and 86400" },
		{ MINIMAL "rooms = { nack_cache = 100; };\n", "bad.conf:5: rooms.nack_cache:",
		  "100: must be 0 (no cache) or a power of two from 64 to 4096" },
		{ MINIMAL "rooms = { max_participants = 1; };\n",
		  "bad.conf:5: rooms.max_participants:", "between 2 and 10000" },
		{ MINIMAL "rooms = { fanout = \"multicast\"; };\n", "bad.conf:5: rooms.fanout:",
		  "'multicast' is not one of \"auto\", \"copy\", \"indirect\"" },
		{ MINIMAL "rooms = { ws_timeout = 0; };\n", "bad.conf:5: rooms.ws_timeout:",
		  "between 1 and 3600" },
		{ MINIMAL "rooms = { consent_timeout = 4; };\n",
		  "bad.conf:5: rooms.consent_timeout:", "between 5 and 3600" },
		{ MINIMAL "rooms = { mix_max_speakers = 65; };\n",
		  "bad.conf:5: rooms.mix_max_speakers:", "between 0 and 64" },
		{ MINIMAL "rooms = { nack_cache_audio_ms = 0; };\n",
		  "bad.conf:5: rooms.nack_cache_audio_ms:", "0 is out of range: must be between 1 "
		  "and 60000" },
		{ MINIMAL "rooms = {\n nack_cache_video_ms = 60001; };\n",
		  "bad.conf:6: rooms.nack_cache_video_ms:", "60001 is out of range: must be "
		  "between 1 and 60000" },
		{ MINIMAL "rooms = { nack_cache_video_ms = \"2s\"; };\n",
		  "bad.conf:5: rooms.nack_cache_video_ms:", "integer" },
		{ MINIMAL "rooms = { max_room = 5; };\n", "bad.conf:5: rooms.max_room:",
		  "unknown key" },
		{ MINIMAL "relay = { max_sessions = 4000001; };\n",
		  "bad.conf:5: relay.max_sessions:", "between 1 and 4000000" },
		{ MINIMAL "relay = { max_sessions = 0; };\n", "bad.conf:5: relay.max_sessions:",
		  "between 1 and 4000000" },
		{ MINIMAL "relay = { relatch_timeout_ms = -5; };\n",
		  "bad.conf:5: relay.relatch_timeout_ms:", "between 0 and 600000" },
		{ MINIMAL "relay = { latch_packets = 0; };\n",
		  "bad.conf:5: relay.latch_packets:", "between 1 and 64" },
		{ MINIMAL "relay = { latch_window_ms = 3600001; };\n",
		  "bad.conf:5: relay.latch_window_ms:", "between 0 and 3600000" },
		{ MINIMAL "relay = { latch_signalled_only = 1; };\n",
		  "bad.conf:5: relay.latch_signalled_only:", "true or false" },
		{ MINIMAL "relay = { ended_history = 1000001; };\n",
		  "bad.conf:5: relay.ended_history:", "between 0 and 1000000" },
		{ MINIMAL "relay = { mbufs = 100; };\n", "bad.conf:5: relay.mbufs:",
		  "0 (derive) or between 1023 and 16777215" },
		/* state = { } (docs/CONFIG.md "state") */
		{ MINIMAL "state = { identity = \"a\"; };\n", "bad.conf:5: state.redis:",
		  "required key is missing" },
		{ MINIMAL "state = { redis = \"localhost:6379\"; identity = \"a\"; };\n",
		  "bad.conf:5: state.redis:", "'localhost:6379' is not an IP:port" },
		{ MINIMAL "state = { redis = \"127.0.0.1:6379\"; };\n", "bad.conf:5: state.identity:",
		  "required key is missing" },
		{ MINIMAL "state = { redis = \"127.0.0.1:6379\";\n identity = \"pop 1\"; };\n",
		  "bad.conf:6: state.identity:", "only letters, digits" },
		{ MINIMAL "state = { redis = \"127.0.0.1:6379\"; identity = \"a\";\n queue = 1; };\n",
		  "bad.conf:6: state.queue:", "between 16 and 10000000" },
		{ MINIMAL "state = { redis = \"127.0.0.1:6379\"; identity = \"a\";\n restore = 1; };\n",
		  "bad.conf:6: state.restore:", "must be true or false" },
		{ MINIMAL "state = { redis = \"127.0.0.1:6379\"; identity = \"a\";\n host = 1; };\n",
		  "bad.conf:6: state.host:", "unknown key" },
		{ MINIMAL ST_A "role = \"auto\"; };\n",
		  "bad.conf:6: state.role:", "'auto' is not one of \"single\", \"active\", "
		  "\"standby\"" },
		{ MINIMAL ST_A "role = 1; };\n",
		  "bad.conf:6: state.role:", "must be a string" },
		{ MINIMAL ST_A "node = \"\"; };\n",
		  "bad.conf:6: state.node:", "must be 1 to 63 characters" },
		{ MINIMAL ST_A "node = \"a b\"; };\n",
		  "bad.conf:6: state.node:", "only letters, digits" },
		{ MINIMAL ST_A "heartbeat_ms = 5; };\n",
		  "bad.conf:6: state.heartbeat_ms:", "between 10 and 10000" },
		{ MINIMAL ST_A "placement = \"random\"; };\n",
		  "bad.conf:6: state.placement:", "must be \"local\" or \"least_loaded\"" },
		{ MINIMAL ST_A "link_srtp = \"aes_cm_128_hmac_sha1_80\"; };\n",
		  "bad.conf:6: state.link_srtp:", "must be \"none\" or an SRTP suite" },
		{ MINIMAL ST_A "link_srtp = true; };\n",
		  "bad.conf:6: state.link_srtp:", "must be a string" },
		{ MINIMAL "srtp = {\n vaes_gcm = 1; };\n",
		  "bad.conf:6: srtp.vaes_gcm:", "must be true or false" },
		{ MINIMAL ST_A "api_url = \"ftp://x\"; };\n",
		  "bad.conf:6: state.api_url:", "must be an http:// or https:// URL" },
		{ MINIMAL ST_A "api_url = \"http://a b\"; };\n",
		  "bad.conf:6: state.api_url:", "must be an http:// or https:// URL" },
		{ MINIMAL ST_A "takeover_ms = 60001; };\n",
		  "bad.conf:6: state.takeover_ms:", "between 50 and 60000" },
		{ MINIMAL ST_A "takeover_ms = 150; };\n",
		  "bad.conf:6: state.takeover_ms:", "at least twice heartbeat_ms (100)" },
		{ MINIMAL ST_A "heartbeat_ms = 300; };\n",
		  "bad.conf:6: state.heartbeat_ms:", "takeover_ms (500) must be at least twice" },
		/* libconfig 1.5 would read these back as 1 and 705032704. */
		{ MINIMAL "relay = { max_sessions = 4294967297; };\n",
		  "bad.conf:5: relay.max_sessions:", "integer 4294967297 does not fit in 32 bits" },
		{ MINIMAL "relay = { idle_timeout = 60;\n"
		  " max_sessions = 1; ended_history = 5000000000; };\n",
		  "bad.conf:6: relay.ended_history:", "5000000000 does not fit" },
		{ MINIMAL "relay = { max_sessions = 0x100000001; };\n",
		  "bad.conf:5: relay.max_sessions:", "0x100000001 does not fit" },
		{ MINIMAL "relay = { mbufs = -4294967295; };\n",
		  "bad.conf:5: relay.mbufs:", "-4294967295 does not fit" },
		/* Big numbers in floats, strings and comments are not integers. */
		{ MINIMAL "relay = { max_sessions = .50000000000; };\n",
		  "bad.conf:5: relay.max_sessions:", "must be an integer, not a floating-point" },
		{ MINIMAL "relay = { max_sessions = 5e10; };\n",
		  "bad.conf:5: relay.max_sessions:", "must be an integer, not a floating-point" },
		{ MINIMAL "# 99999999999\n/* 99999999999\n */ // 99999999999\n"
		  "api = { token = \"99999999999\\\"99999999999\"; max_body = 5; };\n",
		  "bad.conf:8: api.max_body:", "5 is out of range" },
		{ MINIMAL "api = { listen = \"127.0.0.1\"; };\n", "bad.conf:5: api.listen:",
		  "'127.0.0.1' is not an IP:port" },
		{ MINIMAL "api = { listen = \"::1:8080\"; };\n", "bad.conf:5: api.listen:",
		  "is not an IP:port" },
		{ MINIMAL "api = { listen = \"127.0.0.1:0\"; };\n", "bad.conf:5: api.listen:",
		  "is not an IP:port" },
		{ MINIMAL "api = { listen = \"localhost:8080\"; };\n", "bad.conf:5: api.listen:",
		  "is not an IP:port" },
		{ MINIMAL "api = { token = \"two words\"; };\n", "bad.conf:5: api.token:",
		  "visible ASCII" },
		{ MINIMAL "api = { max_body = 1023; };\n", "bad.conf:5: api.max_body:",
		  "between 1024 and 16777216" },
		/* docs/OPERATIONS.md "Security": unsafe unless api.insecure says so */
		{ MINIMAL "api = { listen = \"198.18.0.1:8080\"; };\n", "bad.conf:5: api.listen:",
		  "a non-loopback address needs api.token" },
		{ MINIMAL "api = {\n listen = \"[2001:2::1]:8080\";\n token = \"\"; };\n",
		  "bad.conf:6: api.listen:", "needs api.token" },
		{ MINIMAL "api = { token = \"short-token\"; };\n", "bad.conf:5: api.token:",
		  "at least 16 characters" },
		{ MINIMAL "api = { token = \"change-me-0123456789abcdef0123456789abcdef\"; };\n",
		  "bad.conf:5: api.token:", "the example token" },
		{ MINIMAL "api = { insecure = 1; };\n", "bad.conf:5: api.insecure:",
		  "must be true or false" },
		{ MINIMAL "api = { allowed_hosts = \"x\"; };\n", "bad.conf:5: api.allowed_hosts:",
		  "must be a list of strings" },
		{ MINIMAL "api = { allowed_origins = [ \"\" ]; };\n",
		  "bad.conf:5: api.allowed_origins:", "[0]: must be 1 to 127" },
		{ MINIMAL "api = { max_connections = 8; };\n", "bad.conf:5: api.max_connections:",
		  "between 16 and" },
		{ MINIMAL "rooms = { ws_join_timeout = 0; };\n", "bad.conf:5: rooms.ws_join_timeout:",
		  "between 1 and 3600" },
		{ MINIMAL "log = { level = \"verbose\"; };\n", "bad.conf:5: log.level:",
		  "'verbose' is not one of \"error\", \"warning\", \"info\", \"debug\"" },
		{ MINIMAL "log = { level = \"\"; };\n", "bad.conf:5: log.level:", "is not one of" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

#define PORT_FMT "%s{ name = \"p%d\"; device = \"net_null%d\"; address = \"198.18.%d.1/24\"; }\n"

/* state = { }: off by default; the values and defaults when given. */
static void
expect_role(const struct mr_state_conf *st, unsigned int role, const char *node,
	    unsigned int heartbeat_ms, unsigned int takeover_ms)
{
	assert_int_equal(st->role, role);
	assert_string_equal(st->node, node);
	assert_int_equal(st->heartbeat_ms, heartbeat_ms);
	assert_int_equal(st->takeover_ms, takeover_ms);
}

static void
test_state(void **state)
{
	struct mr_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.state.enabled, 0);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "state = { redis = \"127.0.0.1:6380\"; "
			      "identity = \"pop1-a.b_c\"; password = \"s3cret\"; };\n", &cfg, err,
			      sizeof(err)), 0);
	assert_int_equal(cfg.state.enabled, 1);
	assert_int_equal(cfg.state.redis.port, 6380);
	assert_string_equal(cfg.state.identity, "pop1-a.b_c");
	assert_string_equal(cfg.state.password, "s3cret");
	assert_int_equal(cfg.state.queue, 100000);
	assert_int_equal(cfg.state.restore, 1);
	assert_int_equal(cfg.state.restore_timeout_ms, 5000);
	assert_int_equal(cfg.state.link_srtp, MR_SRTP_SUITE_NONE);
	/* Active/standby: off (single) by default. */
	expect_role(&cfg.state, MR_STATE_SINGLE, "", 100, 500);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "state = { redis = \"127.0.0.1:6379\"; identity = \"svc\"; "
			      "role = \"standby\"; node = \"edge-2.b_c\"; heartbeat_ms = 50; "
			      "takeover_ms = 300; };\n", &cfg, err, sizeof(err)), 0);
	expect_role(&cfg.state, MR_STATE_STANDBY, "edge-2.b_c", 50, 300);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "state = { redis = \"127.0.0.1:6379\"; identity = \"svc\"; "
			      "role = \"active\"; };\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.state.role, MR_STATE_ACTIVE);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL ST_A "link_srtp = \"AEAD_AES_256_GCM\"; };\n", &cfg, err,
			      sizeof(err)), 0);
	assert_int_equal(cfg.state.link_srtp, MR_SRTP_AEAD_AES_256_GCM);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL ST_A "link_srtp = \"none\"; };\n", &cfg, err,
			      sizeof(err)), 0);
	assert_int_equal(cfg.state.link_srtp, MR_SRTP_SUITE_NONE);
	assert_int_equal(cfg.srtp_vaes_gcm, 1);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "srtp = { engine = \"ipsec-mb\"; vaes_gcm = false; };\n",
			      &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.srtp_vaes_gcm, 0);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "state = { redis = \"[::1]:6379\"; identity = \"x\"; "
			      "queue = 16; restore = false; restore_timeout = 2; };\n", &cfg, err,
			      sizeof(err)), 0);
	assert_int_equal(cfg.state.queue, 16);
	assert_int_equal(cfg.state.restore, 0);
	assert_int_equal(cfg.state.restore_timeout_ms, 2000);
	mr_config_free(&cfg);
}

static void
test_limits(void **state)
{
	char text[8192], err[256];
	struct mr_config cfg;
	size_t used;
	int i;

	(void)state;
	/* 17 ports: one too many. */
	used = (size_t)snprintf(text, sizeof(text), LCORES "ports = (\n");
	for (i = 0; i < MR_MAX_PORTS + 1; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, PORT_FMT,
					 i ? "," : "", i, i, i);
	snprintf(text + used, sizeof(text) - used, ");\n");
	assert_int_equal(load(text, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad.conf:2: ports: 17 ports, at most 16 are supported");

	/* 16 are fine. */
	text[strlen(LCORES "ports = (\n")] = '\0';
	used = strlen(text);
	for (i = 0; i < MR_MAX_PORTS; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, PORT_FMT,
					 i ? "," : "", i, i, i);
	snprintf(text + used, sizeof(text) - used, ");\n");
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_ports, MR_MAX_PORTS);
	assert_string_equal(cfg.ports[15].name, "p15");
	assert_int_equal(cfg.ports[15].line, 18);
	mr_config_free(&cfg);

	/* 64 EAL arguments are kept, 65 refused. */
	used = (size_t)snprintf(text, sizeof(text), MINIMAL "eal = [");
	for (i = 0; i < MR_MAX_EAL_ARGS; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\"--a%d\"",
					 i ? "," : "", i);
	snprintf(text + used, sizeof(text) - used, "];\n");
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_eal_args, MR_MAX_EAL_ARGS);
	assert_string_equal(cfg.eal_args[63], "--a63");
	mr_config_free(&cfg);
	snprintf(text + used, sizeof(text) - used, ",\"x\"];\n");
	assert_int_equal(load(text, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad.conf:5: eal: 65 arguments, at most 64 are allowed");
}

/* Each worker polls at most MR_MAX_WORKER_RXQ RX queues (struct mr_worker rxq[]): more in all
 * than the workers can take is refused, naming the keys to change. */
static void
test_rx_queue_bound(void **state)
{
	static const char fmt[] =
		"lcores = { workers = [ %s ]; };\n"
		"ports = ( { name = \"a\"; device = \"net_null0\"; address = \"198.18.0.1/24\";\n"
		"            rx_queues = 64; },\n"
		"          { name = \"b\"; device = \"net_null1\"; address = \"198.18.1.1/24\";\n"
		"            rx_queues = %d; } );\n";
	struct mr_config cfg;
	char text[512], err[256];

	(void)state;
	snprintf(text, sizeof(text), fmt, "1", 1);
	assert_int_equal(load(text, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad.conf:5: ports.[1].rx_queues: 65 RX queues in all ports so "
			    "far, more than the 1 worker(s) of lcores.workers can poll (64 each): "
			    "lower rx_queues or add workers");
	snprintf(text, sizeof(text), fmt, "1, 2", 64);
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].rx_queues + cfg.ports[1].rx_queues, 2 * MR_MAX_WORKER_RXQ);
	mr_config_free(&cfg);
	snprintf(text, sizeof(text), fmt, "1, 2", 1);
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	mr_config_free(&cfg);
}

/* recording = { directory; ring; }: off by default, an absolute path, a power of two. */
static void
test_recording(void **state)
{
	struct mr_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.rec_dir, "");
	assert_int_equal(cfg.rec_ring, 8192);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "recording = { directory = \"/var/rec\"; ring = 1024; };\n",
			      &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.rec_dir, "/var/rec");
	assert_int_equal(cfg.rec_ring, 1024);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "recording = { directory = \"rel\"; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "recording.directory"));
	assert_int_equal(load(MINIMAL "recording = { ring = 1000; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "recording.ring"));
	assert_int_equal(load(MINIMAL "recording = { dir = \"/x\"; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dir"));
}

/* messages = { directory; max_bytes; max_count; }: off by default, bounds checked. */
static void
test_messages(void **state)
{
	struct mr_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.msg_dir, "");
	assert_int_equal(cfg.msg_max_bytes, 1 << 20);
	assert_int_equal(cfg.msg_max_count, 1000);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "messages = { directory = \"/var/msg\"; max_bytes = 4096; "
			      "max_count = 3; };\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.msg_dir, "/var/msg");
	assert_int_equal(cfg.msg_max_bytes, 4096);
	assert_int_equal(cfg.msg_max_count, 3);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "messages = { directory = \"msg\"; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "messages.directory"));
	assert_int_equal(load(MINIMAL "messages = { max_bytes = 100; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "messages.max_bytes"));
	assert_int_equal(load(MINIMAL "messages = { max_count = 0; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "messages.max_count"));
	assert_int_equal(load(MINIMAL "messages = { dir = \"/x\"; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "dir"));
}

/* capture = { directory; ring; max_active; }: off by default, bounds checked. */
static void
test_capture(void **state)
{
	struct mr_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cap_dir, "");
	assert_int_equal(cfg.cap_ring, 4096);
	assert_int_equal(cfg.cap_max_active, 8);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "capture = { directory = \"/var/cap\"; ring = 512; "
			      "max_active = 2; };\n", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cap_dir, "/var/cap");
	assert_int_equal(cfg.cap_ring, 512);
	assert_int_equal(cfg.cap_max_active, 2);
	mr_config_free(&cfg);
	assert_int_equal(load(MINIMAL "capture = { directory = \"cap\"; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "capture.directory"));
	assert_int_equal(load(MINIMAL "capture = { ring = 3000; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "capture.ring"));
	assert_int_equal(load(MINIMAL "capture = { max_active = 65; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "capture.max_active"));
	assert_int_equal(load(MINIMAL "capture = { snaplen = 64; };\n", &cfg, err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "snaplen"));
}

/* ports.rx_checksum, and which EAL options mrelayd adds (controlplane/core/main.c). */
static void
test_rx_checksum_and_eal(void **state)
{
	static const struct {
		const char *eal;	/* the eal list's elements */
		const char *runtime;	/* mr_config_eal_runtime_opt(), NULL for none */
	} cases[] = {
		{ "", "--in-memory" },
		{ "\"-m\", \"512\"", "--in-memory" },
		{ "\"--no-huge\", \"-m\", \"512\"", "--no-shconf" },
		{ "\"--no-h\"", "--no-shconf" },
		/* --in-memory would clash with these: the same thing without it. */
		{ "\"--legacy-mem\"", "--no-shconf" },
		{ "\"--huge-unlink=never\"", "--no-shconf" },
		{ "\"--huge-unlink=existing\", \"--no-huge\"", "--no-shconf" },
		{ "\"--file-prefix\", \"x\"", NULL },
		{ "\"--file-prefix=x\", \"--no-huge\"", NULL },
		{ "\"--in-memory\"", NULL },
		{ "\"--no-huge\", \"--no-shconf\"", NULL },
		{ "\"--proc-type=primary\", \"-b\", \"0000:02:00.0\"", "--in-memory" },
	};
	struct mr_config cfg;
	char text[512], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), MINIMAL "eal = [ %s ];\n", cases[i].eal);
		if (load(text, &cfg, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		if (cases[i].runtime == NULL)
			assert_null(mr_config_eal_runtime_opt(&cfg));
		else
			assert_string_equal(mr_config_eal_runtime_opt(&cfg), cases[i].runtime);
		mr_config_free(&cfg);
	}
	assert_int_equal(load(MINIMAL "eal = [ \"-m512\", \"--file-prefix\", \"-m\" ];\n", &cfg,
			      err, sizeof(err)), 0);
	assert_int_equal(mr_config_eal_find(&cfg, "-m"), 0);
	assert_int_equal(mr_config_eal_find(&cfg, "--file-prefix"), 1);
	assert_int_equal(mr_config_eal_find(&cfg, "--no-huge"), -1);
	assert_int_equal(mr_config_eal_find(&cfg, "--file"), -1);
	mr_config_free(&cfg);

	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].rx_cksum, MR_RX_CKSUM_AUTO);
	mr_config_free(&cfg);
	assert_int_equal(load(LCORES "ports = ( { name = \"a\"; device = \"net_null0\";\n"
			      " address = \"198.18.0.1/24\"; rx_checksum = \"recompute\"; },\n"
			      " { name = \"b\"; device = \"net_null1\"; rx_checksum = \"trust\";\n"
			      " address = \"198.18.1.1/24\"; } );\n", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].rx_cksum, MR_RX_CKSUM_RECOMPUTE);
	assert_int_equal(cfg.ports[1].rx_cksum, MR_RX_CKSUM_TRUST);
	mr_config_free(&cfg);
}

/* address_count and the rooms group: values read back exactly, defaults where absent. */
static void
test_addresses_and_rooms(void **state)
{
	static const char text[] = LCORES
		"ports = ( { name = \"a\"; device = \"x\"; address = \"198.18.0.1/24\";\n"
		"  gateway = \"198.18.0.254\"; address_count = 64; } );\n"
		"rooms = { max_rooms = 7; max_participants = 1001; nack_cache = 1024;\n"
		"  fanout = \"indirect\"; ws_timeout = 5; nack_cache_audio_ms = 500;\n"
		"  nack_cache_video_ms = 60000; consent_timeout = 8; mix_max_speakers = 3; };\n";
	struct mr_config cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(load(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].n_addr4, 64);
	assert_int_equal(cfg.rooms.max_rooms, 7);
	assert_int_equal(cfg.rooms.max_participants, 1001);
	assert_int_equal(cfg.rooms.max_streams, 8);
	assert_int_equal(cfg.rooms.nack_cache, 1024);
	assert_int_equal(cfg.rooms.fanout, MR_FANOUT_INDIRECT);
	assert_int_equal(cfg.rooms.ws_timeout, 5);
	assert_int_equal(cfg.rooms.consent_timeout, 8);
	assert_int_equal(cfg.rooms.mix_max_speakers, 3);
	assert_int_equal(cfg.rooms.pli_interval_ms, 1000);
	assert_int_equal(cfg.rooms.nack_cache_audio_ms, 500);
	assert_int_equal(cfg.rooms.nack_cache_video_ms, 60000);
	mr_config_free(&cfg);

	assert_int_equal(load(MINIMAL, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ports[0].n_addr4, 1);
	assert_int_equal(cfg.rooms.nack_cache, 512);
	assert_int_equal(cfg.rooms.nack_cache_audio_ms, 1000);
	assert_int_equal(cfg.rooms.nack_cache_video_ms, 2000);
	assert_int_equal(cfg.rooms.fanout, MR_FANOUT_AUTO);
	assert_int_equal(cfg.rooms.consent_timeout, 30);
	assert_int_equal(cfg.rooms.mix_max_speakers, 0);
	mr_config_free(&cfg);
}

static void
test_hostile_calls(void **state)
{
	struct mr_config cfg;
	char err[16], big[512];

	(void)state;
	assert_int_equal(mr_config_load_string(NULL, "x.conf", &cfg, err, sizeof(err)), -EINVAL);
	assert_int_equal(mr_config_load_string(MINIMAL, "x.conf", NULL, err, sizeof(err)),
			 -EINVAL);
	/* No message buffer: still a clean result. */
	assert_int_equal(mr_config_load_string(MINIMAL "x = 1;", NULL, &cfg, NULL, 0), -EINVAL);
	assert_int_equal(mr_config_load_string(MINIMAL, NULL, &cfg, NULL, 0), 0);
	assert_string_equal(cfg.path, "(string)");
	mr_config_free(&cfg);
	/* A short buffer gets a truncated, terminated message. */
	memset(err, 'z', sizeof(err));
	assert_int_equal(mr_config_load_string(MINIMAL "relay = { port_min = 1; };\n",
					       "a-rather-long-name.conf", &cfg, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "a-rather-long-n", 15);
	/* @include of a file that does not exist is a parse error, not a crash. */
	assert_int_equal(mr_config_load_string("@include \"/nonexistent/mrelay.conf\"\n" MINIMAL,
					       "inc.conf", &cfg, big, sizeof(big)), -EINVAL);
	assert_non_null(strstr(big, "inc.conf:1:"));
}

static void
test_load_files(void **state)
{
	static const char *const files[] = {
		"../config/default.conf",
		"../config/two-workers.conf",
		"../config/nic-example.conf",
	};
	struct mr_config cfg;
	char err[512] = "";
	size_t i;
	int ret;

	(void)state;
	/* The example for a NIC is refused as it stands: its token is the example's. */
	ret = mr_config_load(files[2], &cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "nic-example.conf:81: api.token: is the example token"));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (i == 2) {
			/* Loaded as an operator would after replacing the token. */
			FILE *f = fopen(files[i], "r");
			static char text[16384];
			size_t n;
			char *t;

			assert_non_null(f);
			n = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
			text[n] = '\0';
			t = strstr(text, "change-me-0123456789abcdef");
			assert_non_null(t);
			memcpy(t, "replaced-by-operator-0001", 25);
			ret = mr_config_load_string(text, files[i], &cfg, err, sizeof(err));
		} else {
			ret = mr_config_load(files[i], &cfg, err, sizeof(err));
		}
		if (ret != 0)
			fail_msg("%s: %d %s", files[i], ret, err);
		assert_string_equal(cfg.path, files[i]);
		switch (i) {
		case 0:
			assert_int_equal(cfg.n_workers, 1);
			assert_int_equal(cfg.worker_lcores[0], 1);
			assert_int_equal(cfg.idle_sleep_us, 100);
			assert_int_equal(cfg.n_eal_args, 3);
			assert_string_equal(cfg.eal_args[0], "--no-huge");
			assert_string_equal(cfg.ports[0].device, "net_tap0,iface=mrelay0");
			assert_int_equal(cfg.ports[0].rx_queues, 1);
			assert_int_equal(cfg.ports[0].gw6.family, MR_AF6);
			assert_int_equal(cfg.ports[0].tx_offload, 1);
			assert_string_equal(cfg.api_token, "");
			break;
		case 1:
			assert_int_equal(cfg.n_workers, 2);
			assert_int_equal(cfg.worker_lcores[1], 2);
			assert_int_equal(cfg.ports[0].rx_queues, 2);
			break;
		case 2:
			assert_int_equal(cfg.n_workers, 4);
			assert_int_equal(cfg.worker_lcores[3], 5);
			assert_int_equal(cfg.ports[0].rx_queues, 4);
			assert_true(cfg.api_token[0] != '\0');
			for (int j = 0; j < cfg.n_eal_args; j++)
				assert_string_not_equal(cfg.eal_args[j], "--no-huge");
			break;
		}
		mr_config_free(&cfg);
	}

	assert_int_equal(mr_config_load("../config/does-not-exist.conf", &cfg, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "../config/does-not-exist.conf: No such file or directory");
	assert_int_equal(mr_config_load("../config", &cfg, err, sizeof(err)), -EIO);
	assert_string_equal(err, "../config: not a regular file");
}

/* A file mrelayd may not read says so (issue 14 §4), as another user than root (who reads
 * anything) in a child. */
static void
test_unreadable_file(void **state)
{
	char path[] = "/tmp/mrelay-test-config-XXXXXX";
	int fd = mkstemp(path), st;
	pid_t pid;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x = 1;\n", 7), 7);
	close(fd);
	assert_int_equal(chmod(path, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mr_config cfg;
		char err[256];
		int rc;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		rc = mr_config_load(path, &cfg, err, sizeof(err));
		_exit(rc == -EACCES && strstr(err, "Permission denied") != NULL &&
		      strncmp(err, path, strlen(path)) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(path);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_addresses_and_rooms),
		cmocka_unit_test(test_non_default_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_missing_keys),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_bad_port_values),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_bad_lcores_eal),
		cmocka_unit_test(test_bad_relay_api_log),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_rx_queue_bound),
		cmocka_unit_test(test_rx_checksum_and_eal),
		cmocka_unit_test(test_recording),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_hostile_calls),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_unreadable_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
