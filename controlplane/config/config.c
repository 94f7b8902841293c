/* SPDX-License-Identifier: BSD-3-Clause
 * mrelayd configuration: load a libconfig file into struct mr_config and validate it
 * (docs/CONFIG.md).
 *
 * Every value is checked here, once, so that the rest of the daemon can trust struct
 * mr_config. Unknown keys are errors, not warnings: a misspelt "idel_timeout" would otherwise
 * leave the default in force without anyone noticing. Each message names the file, the line
 * and the full key path ("ports.[0].address"), the way a compiler does.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <libconfig.h>
#include <rte_config.h>
#include <rte_log.h>

#include "config.h"
#include "srtp.h"

/* A configuration file is a few kilobytes; refuse anything absurd before reading it. */
#define CONFIG_MAX_FILE (1 << 20)

/* Longest key path we print ("ports.[15].address6" and the like). */
#define PATH_LEN 128

struct cfg_ctx {
	const char *path;	/* file name for messages */
	char *err;
	size_t errlen;
	config_t lc;
};

/* Defaults (config.h). */
#define DEF_RX_QUEUES 1
#define DEF_DESC 1024
#define DEF_PORT_MIN 30000
#define DEF_PORT_MAX 39999
#define DEF_IDLE_TIMEOUT 60
#define DEF_RELATCH_MS 5000
#define DEF_MAX_SESSIONS 100000
#define DEF_ENDED_HISTORY 1000
#define DEF_MBUFS 16383
#define DEF_API_LISTEN "127.0.0.1:8080"
/* The largest documented batch (1,000 sessions with remotes, about 73 KB) fits. */
#define DEF_API_MAX_BODY 131072

/* Ranges that are not spelled out in config.h (docs/CONFIG.md explains each). */
#define IDLE_SLEEP_MAX 10000		/* µs: longer naps add that much latency to media */
#define RELATCH_MS_MAX 600000
#define DEF_LATCH_PACKETS 3
#define LATCH_PACKETS_MAX 64
#define DEF_LATCH_WINDOW_MS 60000
#define LATCH_WINDOW_MS_MAX 3600000
#define ENDED_HISTORY_MAX 1000000
#define MBUFS_MIN 1023
#define MBUFS_MAX 16777215
#define API_MAX_BODY_MIN 1024
#define API_MAX_BODY_MAX (16 << 20)
/* docs/OPERATIONS.md "Security". */
#define API_TOKEN_MIN 16
#define API_EXAMPLE_TOKEN "change-me-0123456789abcdef0123456789abcdef"

static void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent;
	size_t used;

	buf[0] = '\0';
	if (s == NULL)
		return;
	parent = config_setting_parent(s);
	if (parent == NULL)
		return;		/* the root has an empty path */
	setting_path(parent, buf, len);
	used = strlen(buf);
	if (used >= len - 1)
		return;
	if (config_setting_name(s) != NULL)
		snprintf(buf + used, len - used, "%s%s", used ? "." : "", config_setting_name(s));
	else
		snprintf(buf + used, len - used, "%s[%d]", used ? "." : "",
			 config_setting_index(s));
}

/* The line of a setting; the root and any element libconfig left unnumbered borrow the
 * line of their closest numbered parent (line 1 for the root itself). */
static unsigned int
setting_line(const config_setting_t *s)
{
	for (; s != NULL; s = config_setting_parent(s))
		if (config_setting_source_line(s) != 0)
			return config_setting_source_line(s);
	return 1;
}

static const char *
setting_file(const struct cfg_ctx *x, const config_setting_t *s)
{
	for (; s != NULL; s = config_setting_parent(s))
		if (config_setting_source_file(s) != NULL)
			return config_setting_source_file(s);
	return x->path;
}

/* "file:line: key.path: message". key may name a member of s that does not exist (a missing
 * required key); then the line is s's. Always returns -EINVAL. */
static int __attribute__((format(printf, 4, 5)))
cfg_err_at(struct cfg_ctx *x, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	char path[PATH_LEN];
	size_t used;
	va_list ap;
	int n;

	setting_path(s, path, sizeof(path));
	if (key != NULL) {
		used = strlen(path);
		snprintf(path + used, sizeof(path) - used, "%s%s", used ? "." : "", key);
	}
	n = snprintf(x->err, x->errlen, "%s:%u: %s: ", setting_file(x, s), setting_line(s), path);
	if (n >= 0 && (size_t)n < x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define cfg_err(x, s, ...) cfg_err_at(x, s, NULL, __VA_ARGS__)

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a floating-point number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "of unknown type";
	}
}

/* Every member of group must be one of keys (NULL-terminated). */
static int
check_keys(struct cfg_ctx *x, const config_setting_t *group, const char *const *keys)
{
	const config_setting_t *s;
	const char *const *k;
	int i, n;

	n = config_setting_length(group);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, (unsigned int)i);
		for (k = keys; *k != NULL; k++)
			if (strcmp(*k, config_setting_name(s)) == 0)
				break;
		if (*k == NULL)
			return cfg_err(x, s, "unknown key");
	}
	return 0;
}

/* An optional group member that must be a group itself. *out is NULL when it is absent. */
static int
get_group(struct cfg_ctx *x, const config_setting_t *parent, const char *key, int required,
	  config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(parent, key);

	*out = NULL;
	if (s == NULL)
		return required ? cfg_err_at(x, parent, key, "required group is missing") : 0;
	if (!config_setting_is_group(s))
		return cfg_err(x, s, "must be a group { ... }, not %s", type_name(s));
	*out = s;
	return 0;
}

/* Integer value of a scalar setting (a group member or an array element). */
static int
want_int(struct cfg_ctx *x, const config_setting_t *s, long long *val)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return cfg_err(x, s, "must be an integer, not %s", type_name(s));
	*val = config_setting_get_int64(s);
	return 0;
}

/* Optional integer member. Returns 1 and sets *val when present, 0 when absent. */
static int
get_int(struct cfg_ctx *x, const config_setting_t *group, const char *key, long long *val,
	config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(group, key);
	int ret;

	*out = s;
	if (s == NULL)
		return 0;
	ret = want_int(x, s, val);
	return ret < 0 ? ret : 1;
}

/* Optional integer member in [min, max]; *out keeps its default when absent. */
static int
get_uint_range(struct cfg_ctx *x, const config_setting_t *group, const char *key,
	       long long min, long long max, unsigned int *out)
{
	config_setting_t *s;
	long long v = 0;
	int ret;

	ret = get_int(x, group, key, &v, &s);
	if (ret <= 0)
		return ret;
	if (v < min || v > max)
		return cfg_err(x, s, "%lld is out of range: must be between %lld and %lld",
			       v, min, max);
	*out = (unsigned int)v;
	return 0;
}

/* Optional string member; *val is NULL when absent. */
static int
get_string(struct cfg_ctx *x, const config_setting_t *group, const char *key, int required,
	   const char **val, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(group, key);

	*val = NULL;
	*out = s;
	if (s == NULL)
		return required ? cfg_err_at(x, group, key, "required key is missing") : 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_err(x, s, "must be a string, not %s", type_name(s));
	*val = config_setting_get_string(s);
	return 0;
}

/* One of a fixed set of words; returns its index in *idx. */
static int
get_enum(struct cfg_ctx *x, const config_setting_t *group, const char *key,
	 const char *const *words, int *idx)
{
	config_setting_t *s;
	const char *v;
	char list[128];
	size_t used = 0;
	int i, ret;

	ret = get_string(x, group, key, 0, &v, &s);
	if (ret < 0 || v == NULL)
		return ret;
	list[0] = '\0';
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(v, words[i]) == 0) {
			*idx = i;
			return 0;
		}
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
						 i ? ", " : "", words[i]);
	}
	return cfg_err(x, s, "'%s' is not one of %s", v, list);
}

static int
is_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * libconfig 1.5 silently truncates an integer literal that does not fit its type:
 * "max_sessions = 4294967297;" reads back as 1. Find such literals in the text ourselves
 * (the text has already parsed, so only strings and comments need care) and report the key
 * that holds one.
 */
struct int_overflow {
	unsigned int line;
	long long as_read;	/* what libconfig made of it */
	char text[32];
};

static int
scan_overflow(const char *t, struct int_overflow *o)
{
	unsigned int line = 1;
	size_t i = 0, start, n;
	int hex, is_float, is64;
	unsigned long long u;
	long long v = 0;
	char num[64];

	while (t[i] != '\0') {
		char c = t[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '"') {
			for (i++; t[i] != '\0' && t[i] != '"'; i++) {
				if (t[i] == '\\' && t[i + 1] != '\0')
					i++;
				if (t[i] == '\n')
					line++;
			}
			if (t[i] != '\0')
				i++;
		} else if (c == '#' || (c == '/' && t[i + 1] == '/')) {
			while (t[i] != '\0' && t[i] != '\n')
				i++;
		} else if (c == '/' && t[i + 1] == '*') {
			for (i += 2; t[i] != '\0' && !(t[i] == '*' && t[i + 1] == '/'); i++)
				if (t[i] == '\n')
					line++;
			if (t[i] != '\0')
				i += 2;
		} else if (isalpha((unsigned char)c) || c == '_' || c == '*' || c == '@') {
			/* A setting name (may hold digits) or a keyword. */
			while (isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '*' ||
			       t[i] == '-' || t[i] == '@')
				i++;
		} else if (isdigit((unsigned char)c)) {
			start = (i > 0 && (t[i - 1] == '-' || t[i - 1] == '+')) ? i - 1 : i;
			hex = c == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X');
			/* ".5" is a float whose digits start after the dot. */
			is_float = i > 0 && t[i - 1] == '.';
			for (; t[i] != '\0'; i++) {
				if (t[i] == '.' || (!hex && (t[i] == 'e' || t[i] == 'E'))) {
					is_float = 1;
				} else if ((t[i] == '+' || t[i] == '-') && !hex &&
					   (t[i - 1] == 'e' || t[i - 1] == 'E')) {
					continue;
				} else if (!isalnum((unsigned char)t[i])) {
					break;
				}
			}
			n = i - start;
			if (is_float || n >= sizeof(num))
				continue;	/* floats are not ours; 64 digits cannot parse */
			memcpy(num, t + start, n);
			num[n] = '\0';
			is64 = n > 0 && (num[n - 1] == 'L' || num[n - 1] == 'l');
			while (n > 0 && (num[n - 1] == 'L' || num[n - 1] == 'l'))
				num[--n] = '\0';
			errno = 0;
			if (hex) {
				u = strtoull(num, NULL, 16);
				if (errno == 0 && u <= (is64 ? (unsigned long long)LLONG_MAX :
						       (unsigned long long)INT_MAX))
					continue;
				v = (long long)u;
			} else {
				v = strtoll(num, NULL, 10);
				if (errno == 0 && (is64 || (v >= INT_MIN && v <= INT_MAX)))
					continue;
			}
			o->line = line;
			/* libconfig stores a plain literal as an int: keep its low 32 bits. */
			o->as_read = is64 ? v : (long long)(int32_t)(uint32_t)(unsigned long long)v;
			snprintf(o->text, sizeof(o->text), "%.*s", (int)(i - start), t + start);
			return 1;
		} else {
			i++;
		}
	}
	return 0;
}

static config_setting_t *
find_int_at(config_setting_t *s, const char *file, unsigned int line, long long val)
{
	config_setting_t *found;
	int i, n;

	if (config_setting_is_aggregate(s)) {
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			found = find_int_at(config_setting_get_elem(s, (unsigned int)i), file,
					    line, val);
			if (found != NULL)
				return found;
		}
		return NULL;
	}
	if ((config_setting_type(s) == CONFIG_TYPE_INT ||
	     config_setting_type(s) == CONFIG_TYPE_INT64) &&
	    config_setting_source_line(s) == line && config_setting_get_int64(s) == val &&
	    ((file == NULL && config_setting_source_file(s) == NULL) ||
	     (file != NULL && config_setting_source_file(s) != NULL &&
	      strcmp(file, config_setting_source_file(s)) == 0)))
		return s;
	return NULL;
}

/* file: NULL for the main text, else the name libconfig recorded for an @include. */
static int
check_overflow(struct cfg_ctx *x, const char *text, const char *file)
{
	struct int_overflow o;
	config_setting_t *s;

	if (!scan_overflow(text, &o))
		return 0;
	s = find_int_at(config_root_setting(&x->lc), file, o.line, o.as_read);
	if (s != NULL)
		return cfg_err(x, s, "integer %s does not fit in 32 bits", o.text);
	snprintf(x->err, x->errlen, "%s:%u: integer %s does not fit in 32 bits",
		 file != NULL ? file : x->path, o.line, o.text);
	return -EINVAL;
}

/* A device's identity for duplicate checks: a PCI address as domain:bus:device.function
 * (the domain 0000 may be left out, hex digits in either case), a vdev by its name (what
 * comes before its arguments). -1 when a PCI address does not parse (the EAL says why). */
static int
device_key(const char *dev, char *out, size_t len)
{
	unsigned int d = 0, b, s, f;
	int n = 0;

	if (strncmp(dev, "net_", 4) == 0) {
		size_t k = strcspn(dev, ",");

		snprintf(out, len, "%.*s", (int)k, dev);
		return 0;
	}
	if (sscanf(dev, "%x:%x:%x.%x%n", &d, &b, &s, &f, &n) == 4 &&
	    (dev[n] == '\0' || dev[n] == ','))
		goto ok;
	d = 0;
	if (sscanf(dev, "%x:%x.%x%n", &b, &s, &f, &n) == 3 && (dev[n] == '\0' || dev[n] == ','))
		goto ok;
	return -1;
ok:
	snprintf(out, len, "%04x:%02x:%02x.%x", d, b, s, f);
	return 0;
}

/* Do two configured prefixes (family 0: none) share addresses? */
static int
prefix_overlap(const struct mr_prefix *x, const struct mr_prefix *y)
{
	unsigned int len, k;

	if (x->family == 0 || x->family != y->family)
		return 0;
	len = x->len < y->len ? x->len : y->len;
	for (k = 0; k < len / 8; k++)
		if (x->a[k] != y->a[k])
			return 0;
	if (len % 8 && ((x->a[k] ^ y->a[k]) & (uint8_t)(0xff << (8 - len % 8))))
		return 0;
	return 1;
}

static char *
read_text(const char *path, int *err)
{
	char *text = NULL;
	struct stat st;
	size_t n;
	off_t sz;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		/* The reason as the system gave it: "Permission denied" says what to fix. */
		*err = errno ? -errno : -EIO;
		return NULL;
	}
	*err = -EIO;
	if (fstat(fileno(f), &st) != 0)
		goto close;
	if (!S_ISREG(st.st_mode)) {
		*err = -EISDIR;
		goto close;
	}
	sz = st.st_size;
	if (sz > CONFIG_MAX_FILE) {
		*err = -EFBIG;
		goto close;
	}
	text = malloc((size_t)sz + 1);
	if (text == NULL) {
		*err = -ENOMEM;
		goto close;
	}
	n = fread(text, 1, (size_t)sz, f);
	if (n != (size_t)sz || ferror(f)) {
		free(text);
		text = NULL;
		goto close;
	}
	text[n] = '\0';
	/* A NUL byte would end the text early and hide whatever follows it. */
	if (strlen(text) != n) {
		free(text);
		text = NULL;
		*err = -EILSEQ;
		goto close;
	}
	*err = 0;
close:
	fclose(f);
	return text;
}

/* Overflow check for @include'd files: libconfig remembers their names as written, and
 * looked relative ones up in include_dir. */
static int
check_includes(struct cfg_ctx *x, const char *include_dir)
{
	char full[1024];
	unsigned int i;
	char *text;
	int ret;

	for (i = 0; i < x->lc.num_filenames; i++) {
		if (x->lc.filenames[i][0] != '/' && include_dir != NULL)
			snprintf(full, sizeof(full), "%s/%s", include_dir, x->lc.filenames[i]);
		else
			snprintf(full, sizeof(full), "%s", x->lc.filenames[i]);
		text = read_text(full, &ret);
		if (text == NULL) {
			snprintf(x->err, x->errlen, "%s: cannot read again: %s",
				 x->lc.filenames[i], strerror(-ret));
			return -EINVAL;
		}
		ret = check_overflow(x, text, x->lc.filenames[i]);
		free(text);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* eal = [ "--no-huge", "-m", "512" ]; */
static int
parse_eal(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	/* The daemon builds the lcore options from lcores { } (and maps ids onto CPUs):
	 * a second lcore list here would contradict it. */
	static const char *const reserved[] = {
		"-l", "-c", "--lcores", "--main-lcore", "--master-lcore", NULL
	};
	const config_setting_t *s, *e;
	const char *v;
	int i, j, n;

	s = config_setting_get_member(root, "eal");
	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_err(x, s, "must be an array of strings, not %s", type_name(s));
	n = config_setting_length(s);
	if (n > MR_MAX_EAL_ARGS)
		return cfg_err(x, s, "%d arguments, at most %d are allowed", n, MR_MAX_EAL_ARGS);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_err(x, e, "must be a string, not %s", type_name(e));
		v = config_setting_get_string(e);
		if (v[0] == '\0' || !is_printable(v))
			return cfg_err(x, e, "must be a non-empty printable string");
		for (j = 0; reserved[j] != NULL; j++) {
			size_t len = strlen(reserved[j]);

			/* "-l1-3" and "--lcores=1" are the same options. */
			if (strncmp(v, reserved[j], len) == 0 &&
			    (v[len] == '\0' || v[len] == '=' || reserved[j][1] != '-'))
				return cfg_err(x, e, "'%s' is set by mrelayd from lcores { }", v);
		}
		cfg->eal_args[i] = strdup(v);
		if (cfg->eal_args[i] == NULL) {
			snprintf(x->err, x->errlen, "%s: out of memory", x->path);
			return -ENOMEM;
		}
		cfg->n_eal_args = i + 1;
	}
	return 0;
}

/* Whether cfg->eal_args[i] is EAL option opt (see mr_config_eal_find()). */
static int
eal_is(const char *a, const char *opt)
{
	size_t n;

	if (opt[1] != '-')		/* short: "-m", "-m512" (never "--...") */
		return a[0] == '-' && a[1] == opt[1];
	if (a[0] != '-' || a[1] != '-')
		return 0;
	n = strcspn(a, "=");
	return n > 2 && n <= strlen(opt) && strncmp(a, opt, n) == 0;
}

int
mr_config_eal_find(const struct mr_config *cfg, const char *opt)
{
	int i;

	for (i = 0; i < cfg->n_eal_args; i++)
		if (eal_is(cfg->eal_args[i], opt))
			return i;
	return -1;
}

/* mr_config_eal_find() for any of the spellings in names ("-b|--block"). */
static int
eal_find_any(const struct mr_config *cfg, const char *names)
{
	char buf[64];
	char *tok, *save = NULL;
	int i;

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save)) {
		i = mr_config_eal_find(cfg, tok);
		if (i >= 0)
			return i;
	}
	return -1;
}

/* The value of eal_args[i]: attached ("-m512", "--x=v"), else for required arguments the
 * next element; NULL when there is none (optional arguments take only "=v"). */
static const char *
eal_value(const struct mr_config *cfg, int i, int required)
{
	const char *a = cfg->eal_args[i], *eq;

	if (a[1] != '-')
		return a[2] != '\0' ? a + 2 : i + 1 < cfg->n_eal_args ? cfg->eal_args[i + 1] : NULL;
	eq = strchr(a, '=');
	if (eq != NULL)
		return eq + 1;
	return required && i + 1 < cfg->n_eal_args ? cfg->eal_args[i + 1] : NULL;
}

/* --huge-unlink=never: hugepage files are kept, which --in-memory cannot do. */
static int
eal_unlink_never(const struct mr_config *cfg)
{
	int i = mr_config_eal_find(cfg, "--huge-unlink");
	const char *v = i >= 0 ? eal_value(cfg, i, 0) : NULL;

	return v != NULL && strcmp(v, "never") == 0;
}

const char *
mr_config_eal_file_prefix(const struct mr_config *cfg)
{
	int i = mr_config_eal_find(cfg, "--file-prefix");

	if (i < 0 || eal_find_any(cfg, "--in-memory|--no-shconf") >= 0)
		return NULL;
	return eal_value(cfg, i, 1);
}

const char *
mr_config_eal_runtime_opt(const struct mr_config *cfg)
{
	if (eal_find_any(cfg, "--file-prefix|--in-memory|--no-shconf") >= 0)
		return NULL;
	/* DPDK 22.11 refuses --in-memory with legacy memory (which --no-huge implies) and with
	 * --huge-unlink=never; --no-shconf keeps the runtime files away too. */
	if (eal_find_any(cfg, "--no-huge|--legacy-mem") >= 0 || eal_unlink_never(cfg))
		return "--no-shconf";
	return "--in-memory";
}

/* Pairs of EAL options DPDK 22.11 refuses together, answering with its whole usage text:
 * caught here with one line instead. */
static const struct {
	const char *opt, *with, *why;
} eal_clashes[] = {
	{ "--in-memory", "--no-huge|--legacy-mem", "DPDK 22.11 refuses --in-memory with legacy "
	  "memory, which --no-huge implies; leave it out (mrelayd adds --no-shconf)" },
	{ "--match-allocations", "--no-huge|--legacy-mem", "DPDK 22.11 cannot match "
	  "allocations with legacy memory, which --no-huge implies" },
	{ "--socket-mem", "--no-huge", "without hugepages the memory is given with -m" },
	{ "--socket-mem", "-m", "both give the memory size; keep one" },
	{ "-b|--block", "-a|--allow", "the EAL takes an allow list or a block list, not both" },
};

/* eal = [ ... ] against itself and against what mrelayd adds (controlplane/core/main.c):
 * one line naming the argument instead of the EAL's usage text, before the EAL runs. */
static int
check_eal(struct cfg_ctx *x, const config_setting_t *root, const struct mr_config *cfg)
{
	const config_setting_t *s = config_setting_get_member(root, "eal");
	const char *v;
	unsigned int k, pci = cfg->n_ports;
	int i, j;

	if (s == NULL)
		return 0;
	for (k = 0; k < cfg->n_ports; k++)
		if (mr_port_is_pci(&cfg->ports[k]))
			pci = k;
	for (k = 0; k < sizeof(eal_clashes) / sizeof(eal_clashes[0]); k++) {
		i = eal_find_any(cfg, eal_clashes[k].opt);
		j = eal_find_any(cfg, eal_clashes[k].with);
		if (i >= 0 && j >= 0)
			return cfg_err(x, config_setting_get_elem(s, (unsigned int)i),
				       "'%s' cannot be used with '%s' (eal.[%d]): %s",
				       cfg->eal_args[i], cfg->eal_args[j], j, eal_clashes[k].why);
	}
	i = mr_config_eal_find(cfg, "--huge-unlink");
	v = i >= 0 ? eal_value(cfg, i, 0) : NULL;
	j = mr_config_eal_find(cfg, "--no-huge");
	if (i >= 0 && j >= 0 && (v == NULL || strcmp(v, "always") == 0))
		return cfg_err(x, config_setting_get_elem(s, (unsigned int)i), "'%s' cannot be "
			       "used with '--no-huge' (eal.[%d]): there are no hugepage files",
			       cfg->eal_args[i], j);
	j = mr_config_eal_find(cfg, "--in-memory");
	if (j >= 0 && eal_unlink_never(cfg))
		return cfg_err(x, config_setting_get_elem(s, (unsigned int)j), "'%s' cannot be "
			       "used with '--huge-unlink=never': in memory, nothing is kept",
			       cfg->eal_args[j]);
	i = eal_find_any(cfg, "-b|--block");
	if (i >= 0 && pci < cfg->n_ports)
		return cfg_err(x, config_setting_get_elem(s, (unsigned int)i), "'%s' cannot be "
			       "used with PCI ports: mrelayd allows (-a) only the devices the "
			       "ports name (ports.[%u].device), so nothing needs blocking",
			       cfg->eal_args[i], pci);
	i = mr_config_eal_find(cfg, "--no-pci");
	if (i >= 0 && pci < cfg->n_ports)
		return cfg_err(x, config_setting_get_elem(s, (unsigned int)i), "'%s' but "
			       "ports.[%u].device '%s' is a PCI device", cfg->eal_args[i], pci,
			       cfg->ports[pci].device);
	i = mr_config_eal_find(cfg, "--proc-type");
	v = i >= 0 ? eal_value(cfg, i, 1) : NULL;
	if (i >= 0 && (v == NULL || strcmp(v, "primary") != 0))
		return cfg_err(x, config_setting_get_elem(s, (unsigned int)i), "--proc-type "
			       "'%s': mrelayd runs only as the primary process", v ? v : "");
	return 0;
}

/* An array of lcore ids, lcores.<key>: between min and max of them, each in range, none the
 * control lcore, a worker (for the media lcores, parsed after the workers) or listed twice.
 * Absent: none, unless min > 0. */
static int
parse_lcore_list(struct cfg_ctx *x, const config_setting_t *g, const char *key,
		 unsigned int min, unsigned int max, const struct mr_config *cfg,
		 unsigned int *out, unsigned int *n_out)
{
	config_setting_t *a = config_setting_get_member(g, key), *e;
	unsigned int i, j, n;
	long long v = 0;
	int ret;

	if (a == NULL && min == 0) {
		*n_out = 0;
		return 0;
	}
	if (a == NULL)
		return cfg_err_at(x, g, key, "required key is missing");
	if (!config_setting_is_array(a) && !config_setting_is_list(a))
		return cfg_err(x, a, "must be an array of lcore ids, not %s", type_name(a));
	n = (unsigned int)config_setting_length(a);
	if (n < min || n > max)
		return cfg_err(x, a, "must list between %u and %u lcore ids", min, max);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(a, i);
		ret = want_int(x, e, &v);
		if (ret < 0)
			return ret;
		if (v < 0 || v >= RTE_MAX_LCORE)
			return cfg_err(x, e, "lcore id %lld is out of range: must be between "
				       "0 and %d", v, RTE_MAX_LCORE - 1);
		if ((unsigned int)v == cfg->control_lcore)
			return cfg_err(x, e, "lcore %lld is the control lcore (lcores.control)", v);
		/* cfg->worker_lcores is out itself while the workers are parsed. */
		for (j = 0; out != cfg->worker_lcores && j < cfg->n_workers; j++)
			if (cfg->worker_lcores[j] == (unsigned int)v)
				return cfg_err(x, e, "lcore %lld is a worker (lcores.workers)", v);
		for (j = 0; j < i; j++)
			if (out[j] == (unsigned int)v)
				return cfg_err(x, e, "lcore %lld is listed twice", v);
		out[i] = (unsigned int)v;
	}
	*n_out = n;
	return 0;
}

/* lcores = { control = 0; workers = [ 1 ]; media = [ 2 ]; idle_sleep_us = 0; }; media (the
 * mixing rooms' lcores) is optional. */
static int
parse_lcores(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "control", "workers", "media", "idle_sleep_us",
					    NULL };
	config_setting_t *g;
	int ret;

	ret = get_group(x, root, "lcores", 1, &g);
	if (ret < 0)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;
	ret = get_uint_range(x, g, "control", 0, RTE_MAX_LCORE - 1, &cfg->control_lcore);
	if (ret < 0)
		return ret;
	ret = get_uint_range(x, g, "idle_sleep_us", 0, IDLE_SLEEP_MAX, &cfg->idle_sleep_us);
	if (ret < 0)
		return ret;
	cfg->n_workers = 0;
	ret = parse_lcore_list(x, g, "workers", 1, MR_MAX_WORKERS, cfg, cfg->worker_lcores,
			       &cfg->n_workers);
	if (ret < 0)
		return ret;
	return parse_lcore_list(x, g, "media", 0, MR_MAX_MEDIA, cfg, cfg->media_lcores,
				&cfg->n_media);
}

/* A host address on a link: not unspecified, loopback or multicast, and not a v4 network or
 * broadcast address (RFC 3021 makes both usable on /31) or the v6 subnet-router anycast
 * address (RFC 4291 §2.6.1). */
static const char *
host_addr_problem(const struct mr_prefix *p, const struct mr_ep *a)
{
	static const uint8_t zero[16];
	unsigned int i, bits, host_zero = 1, host_ones = 1;

	if (a->family == MR_AF4) {
		if (a->a[0] == 0)
			return "is not a host address (0.0.0.0/8)";
		if (a->a[0] == 127)
			return "is a loopback address";
		if (a->a[0] >= 224)
			return "is a multicast or reserved address";
	} else {
		if (memcmp(a->a, zero, 16) == 0)
			return "is the unspecified address";
		if (memcmp(a->a, zero, 15) == 0 && a->a[15] == 1)
			return "is the loopback address";
		if (a->a[0] == 0xff)
			return "is a multicast address";
		if (memcmp(a->a, zero, 10) == 0 && a->a[10] == 0xff && a->a[11] == 0xff)
			return "is an IPv4-mapped address";
	}
	bits = a->family == MR_AF4 ? 32 : 128;
	if (p->len >= bits - 1)
		return NULL;
	for (i = p->len; i < bits; i++) {
		if (a->a[i / 8] & (0x80 >> (i % 8)))
			host_zero = 0;
		else
			host_ones = 0;
	}
	if (host_zero)
		return a->family == MR_AF4 ? "is the network address of its prefix" :
					     "is the subnet-router anycast address of its prefix";
	if (host_ones && a->family == MR_AF4)
		return "is the broadcast address of its prefix";
	return NULL;
}

static int
parse_addr(struct cfg_ctx *x, const config_setting_t *g, const char *akey, const char *gkey,
	   int family, struct mr_prefix *pfx, struct mr_ep *gw)
{
	const char *fam = family == MR_AF4 ? "IPv4" : "IPv6";
	config_setting_t *s;
	struct mr_ep a;
	const char *v, *why;
	int ret;

	ret = get_string(x, g, akey, 0, &v, &s);
	if (ret < 0)
		return ret;
	if (v != NULL) {
		if (mr_prefix_parse(v, pfx) < 0)
			return cfg_err(x, s, "'%s' is not an address with a prefix length", v);
		if (pfx->family != family)
			return cfg_err(x, s, "'%s' is not an %s address (%s goes in %s)", v, fam,
				       family == MR_AF4 ? "IPv6" : "IPv4",
				       family == MR_AF4 ? "address6" : "address");
		memset(&a, 0, sizeof(a));
		a.family = pfx->family;
		memcpy(a.a, pfx->a, sizeof(a.a));
		why = host_addr_problem(pfx, &a);
		if (why != NULL)
			return cfg_err(x, s, "'%s' %s", v, why);
	}

	ret = get_string(x, g, gkey, 0, &v, &s);
	if (ret < 0 || v == NULL)
		return ret;
	if (pfx->family == 0)
		return cfg_err(x, s, "a gateway needs %s", akey);
	if (mr_addr_parse(v, gw) < 0 || gw->family != family)
		return cfg_err(x, s, "'%s' is not an %s address", v, fam);
	if (!mr_prefix_contains(pfx, gw))
		return cfg_err(x, s, "'%s' is not inside %s %s", v, akey,
			       config_setting_get_string(config_setting_get_member(g, akey)));
	if (memcmp(gw->a, pfx->a, sizeof(gw->a)) == 0)
		return cfg_err(x, s, "'%s' is the port's own address", v);
	why = host_addr_problem(pfx, gw);
	if (why != NULL)
		return cfg_err(x, s, "'%s' %s", v, why);
	return 0;
}

static int
is_pow2(long long v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

static int
parse_port(struct cfg_ctx *x, config_setting_t *g, struct mr_config *cfg, unsigned int idx)
{
	static const char *const keys[] = {
		"name", "device", "address", "address_count", "gateway", "address6", "gateway6",
		"rx_queues", "rx_desc", "tx_desc", "vlan", "mtu", "steering",
		"tx_checksum_offload", "rx_checksum", NULL
	};
	static const char *const steering[] = { "auto", "software", "rte_flow", "rss",
		"rss_emulated", NULL };
	static const char *const rx_cksum[] = { "auto", "trust", "recompute", NULL };
	struct mr_port_conf *p = &cfg->ports[idx];
	const char *const desc_keys[] = { "rx_desc", "tx_desc" };
	uint16_t *desc_vals[] = { &p->rx_desc, &p->tx_desc };
	config_setting_t *s;
	const char *v;
	long long n = 0;
	unsigned int i, u;
	int ret, steer, rxck;
	size_t k;

	if (!config_setting_is_group(g))
		return cfg_err(x, g, "must be a group { ... }, not %s", type_name(g));
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;
	p->line = (int)setting_line(g);

	ret = get_string(x, g, "name", 1, &v, &s);
	if (ret < 0)
		return ret;
	if (v[0] == '\0' || strlen(v) >= MR_NAME_LEN)
		return cfg_err(x, s, "must be 1 to %d characters long", MR_NAME_LEN - 1);
	for (k = 0; v[k] != '\0'; k++)
		if (!isalnum((unsigned char)v[k]) && v[k] != '_' && v[k] != '-' && v[k] != '.')
			return cfg_err(x, s, "'%s' may hold only letters, digits, '_', '-', '.'",
				       v);
	for (i = 0; i < idx; i++)
		if (strcmp(cfg->ports[i].name, v) == 0)
			return cfg_err(x, s, "'%s' is already the name of ports.[%u] (line %d)",
				       v, i, cfg->ports[i].line);
	snprintf(p->name, sizeof(p->name), "%s", v);

	ret = get_string(x, g, "device", 1, &v, &s);
	if (ret < 0)
		return ret;
	if (v[0] == '\0' || strlen(v) >= sizeof(p->device))
		return cfg_err(x, s, "must be 1 to %zu characters long", sizeof(p->device) - 1);
	for (k = 0; v[k] != '\0'; k++)
		if (!isgraph((unsigned char)v[k]))
			return cfg_err(x, s, "must not contain spaces or control characters");
	for (i = 0; i < idx; i++) {
		char a[64], b[64];

		if (device_key(cfg->ports[i].device, a, sizeof(a)) == 0 &&
		    device_key(v, b, sizeof(b)) == 0 && strcmp(a, b) == 0)
			return cfg_err(x, s, "'%s' is already the device of ports.[%u] (line %d)%s",
				       v, i, cfg->ports[i].line,
				       strcmp(cfg->ports[i].device, v) ? ", spelled another way" :
				       "");
	}
	snprintf(p->device, sizeof(p->device), "%s", v);

	ret = parse_addr(x, g, "address", "gateway", MR_AF4, &p->addr4, &p->gw4);
	if (ret < 0)
		return ret;
	ret = parse_addr(x, g, "address6", "gateway6", MR_AF6, &p->addr6, &p->gw6);
	if (ret < 0)
		return ret;
	if (p->addr4.family == 0 && p->addr6.family == 0)
		return cfg_err_at(x, g, "address", "required key is missing (a port needs "
				  "address, address6 or both)");
	/* address_count: the port's media addresses are address and the next count - 1 IPv4
	 * addresses (each has its own 64k UDP ports: a million sessions need about 64). */
	p->n_addr4 = 1;
	ret = get_uint_range(x, g, "address_count", 1, MR_MAX_ADDRS, &p->n_addr4);
	if (ret < 0)
		return ret;
	if (p->n_addr4 > 1) {
		uint32_t first = ((uint32_t)p->addr4.a[0] << 24) | ((uint32_t)p->addr4.a[1] << 16) |
				 ((uint32_t)p->addr4.a[2] << 8) | p->addr4.a[3];
		uint32_t last = first + p->n_addr4 - 1;
		uint32_t mask = p->addr4.len ? ~0u << (32 - p->addr4.len) : 0;
		uint32_t gw = p->gw4.family ? ((uint32_t)p->gw4.a[0] << 24) |
			((uint32_t)p->gw4.a[1] << 16) | ((uint32_t)p->gw4.a[2] << 8) | p->gw4.a[3] : 0;

		s = config_setting_get_member(g, "address_count");
		if (p->addr4.family == 0)
			return cfg_err(x, s, "needs an IPv4 address");
		/* All inside the prefix, not its broadcast address (RFC 919), not the gateway. */
		if (last < first || (last & mask) != (first & mask) ||
		    (p->addr4.len <= 30 && (last | mask) == ~0u))
			return cfg_err(x, s, "%u addresses from %u.%u.%u.%u do not fit in /%u",
				       p->n_addr4, p->addr4.a[0], p->addr4.a[1], p->addr4.a[2],
				       p->addr4.a[3], p->addr4.len);
		if (gw != 0 && gw >= first && gw <= last)
			return cfg_err(x, s, "the gateway is one of the %u addresses", p->n_addr4);
	}
	for (i = 0; i < idx; i++) {
		const struct mr_port_conf *o = &cfg->ports[i];

		if (p->addr4.family != 0 && o->addr4.family != 0) {
			uint32_t a = ((uint32_t)p->addr4.a[0] << 24) |
				((uint32_t)p->addr4.a[1] << 16) | ((uint32_t)p->addr4.a[2] << 8) |
				p->addr4.a[3];
			uint32_t b = ((uint32_t)o->addr4.a[0] << 24) |
				((uint32_t)o->addr4.a[1] << 16) | ((uint32_t)o->addr4.a[2] << 8) |
				o->addr4.a[3];

			if (a < b + o->n_addr4 && b < a + p->n_addr4)
				return cfg_err(x, config_setting_get_member(g, "address"),
					       "the address is already that of ports.[%u] "
					       "(line %d)", i, o->line);
		}
		if (p->addr6.family != 0 && o->addr6.family != 0 &&
		    memcmp(p->addr6.a, o->addr6.a, 16) == 0)
			return cfg_err(x, config_setting_get_member(g, "address6"),
				       "the address is already that of ports.[%u] (line %d)",
				       i, o->line);
		/* Two ports on one subnet: which one answers ARP/ND for it, and which one a
		 * remote there is reached from, would be a guess. */
		if (prefix_overlap(&p->addr4, &o->addr4))
			return cfg_err(x, config_setting_get_member(g, "address"),
				       "on the same subnet as ports.[%u].address (line %d): "
				       "give each port a subnet of its own", i, o->line);
		if (prefix_overlap(&p->addr6, &o->addr6))
			return cfg_err(x, config_setting_get_member(g, "address6"),
				       "on the same subnet as ports.[%u].address6 (line %d): "
				       "give each port a subnet of its own", i, o->line);
	}

	u = DEF_RX_QUEUES;
	ret = get_uint_range(x, g, "rx_queues", 1, 64, &u);
	if (ret < 0)
		return ret;
	p->rx_queues = (uint16_t)u;

	for (i = 0; i < 2; i++) {
		*desc_vals[i] = DEF_DESC;
		ret = get_int(x, g, desc_keys[i], &n, &s);
		if (ret < 0)
			return ret;
		if (ret == 0)
			continue;
		if (n < 64 || n > 16384 || !is_pow2(n))
			return cfg_err(x, s, "%lld: must be a power of two between 64 and 16384",
				       n);
		*desc_vals[i] = (uint16_t)n;
	}

	u = 0;
	ret = get_uint_range(x, g, "vlan", 0, 4094, &u);
	if (ret < 0)
		return ret;
	p->vlan = (uint16_t)u;

	ret = get_int(x, g, "mtu", &n, &s);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		/* 68: the IPv4 minimum (RFC 791); 1280: the IPv6 minimum (RFC 8200 §5). */
		if (n != 0 && (n < 68 || n > 9600))
			return cfg_err(x, s, "%lld: must be 0 (device default) or between 68 "
				       "and 9600", n);
		if (n != 0 && n < 1280 && p->addr6.family != 0)
			return cfg_err(x, s, "%lld is below 1280, the IPv6 minimum, and the port "
				       "has address6", n);
		p->mtu = (uint16_t)n;
	}

	steer = MR_STEER_AUTO;
	ret = get_enum(x, g, "steering", steering, &steer);
	if (ret < 0)
		return ret;
	p->steering = (enum mr_steering)steer;

	p->tx_offload = 1;
	s = config_setting_get_member(g, "tx_checksum_offload");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		p->tx_offload = config_setting_get_bool(s) ? 1 : 0;
	}

	rxck = MR_RX_CKSUM_AUTO;
	ret = get_enum(x, g, "rx_checksum", rx_cksum, &rxck);
	if (ret < 0)
		return ret;
	p->rx_cksum = (enum mr_rx_cksum)rxck;
	return 0;
}

static int
parse_ports(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	config_setting_t *s, *g, *q;
	unsigned int i, n, total = 0;
	int ret;

	s = config_setting_get_member(root, "ports");
	if (s == NULL)
		return cfg_err_at(x, root, "ports", "required list is missing");
	if (!config_setting_is_list(s))
		return cfg_err(x, s, "must be a list ( { ... }, ... ), not %s", type_name(s));
	n = (unsigned int)config_setting_length(s);
	if (n == 0)
		return cfg_err(x, s, "at least one port is required");
	if (n > MR_MAX_PORTS)
		return cfg_err(x, s, "%u ports, at most %d are supported", n, MR_MAX_PORTS);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		ret = parse_port(x, g, cfg, i);
		if (ret < 0)
			return ret;
		cfg->n_ports = i + 1;
		/* The workers share the (port, RX queue) pairs round robin, each polling at
		 * most MR_MAX_WORKER_RXQ. */
		total += cfg->ports[i].rx_queues;
		q = config_setting_get_member(g, "rx_queues");
		if (total > cfg->n_workers * MR_MAX_WORKER_RXQ)
			return cfg_err_at(x, q != NULL ? q : g, q != NULL ? NULL : "rx_queues",
					  "%u RX queues in all ports so far, more than the %u "
					  "worker(s) of lcores.workers can poll (%u each): lower "
					  "rx_queues or add workers", total, cfg->n_workers,
					  MR_MAX_WORKER_RXQ);
	}
	return 0;
}

/* relay = { port_min = 30000; port_max = 39999; ... }; */
static int
parse_relay(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = {
		"port_min", "port_max", "idle_timeout", "relatch_timeout_ms", "max_sessions",
		"ended_history", "mbufs", "max_flows", "latch_packets", "latch_window_ms",
		"latch_signalled_only", NULL
	};
	config_setting_t *g, *s;
	long long v = 0;
	int ret;

	ret = get_group(x, root, "relay", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;

	/* RTP takes the even port and RTCP the next one (RFC 3550 §11). */
	ret = get_int(x, g, "port_min", &v, &s);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		if (v < 1024 || v > 65534 || (v & 1))
			return cfg_err(x, s, "must be an even number between 1024 and 65534");
		cfg->port_min = (uint16_t)v;
	}
	/* At least two RTP/RTCP pairs: the two legs of one call. */
	ret = get_int(x, g, "port_max", &v, &s);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		if (v <= cfg->port_min + 3 || v > 65535)
			return cfg_err(x, s, "must be between port_min + 4 (%u) and 65535",
				       cfg->port_min + 4u);
		cfg->port_max = (uint16_t)v;
	} else if (cfg->port_max <= cfg->port_min + 3) {
		return cfg_err_at(x, g, "port_max", "the default %u is not above port_min + 3 "
				  "(%u): set port_max", cfg->port_max, cfg->port_min + 3u);
	}

	ret = get_uint_range(x, g, "idle_timeout", 1, 86400, &cfg->idle_timeout);
	if (ret == 0)
		ret = get_uint_range(x, g, "relatch_timeout_ms", 0, RELATCH_MS_MAX,
				     &cfg->relatch_timeout_ms);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_sessions", 1, 4000000, &cfg->max_sessions);
	if (ret == 0)
		ret = get_uint_range(x, g, "ended_history", 0, ENDED_HISTORY_MAX,
				     &cfg->ended_history);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_flows", 0, 16000000, &cfg->max_flows);
	if (ret == 0)
		ret = get_uint_range(x, g, "latch_packets", 1, LATCH_PACKETS_MAX,
				     &cfg->latch_packets);
	if (ret == 0)
		ret = get_uint_range(x, g, "latch_window_ms", 0, LATCH_WINDOW_MS_MAX,
				     &cfg->latch_window_ms);
	if (ret < 0)
		return ret;
	s = config_setting_get_member(g, "latch_signalled_only");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		cfg->latch_signalled_only = config_setting_get_bool(s);
	}

	ret = get_int(x, g, "mbufs", &v, &s);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		if (v != 0 && (v < MBUFS_MIN || v > MBUFS_MAX))
			return cfg_err(x, s, "%lld: must be 0 (derive) or between %d and %d", v,
				       MBUFS_MIN, MBUFS_MAX);
		cfg->mbufs = (unsigned int)v;
	}
	return 0;
}

/* A list of names (api.allowed_hosts, api.allowed_origins): strings of visible ASCII. */
static int
get_names(struct cfg_ctx *x, const config_setting_t *g, const char *key,
	  char names[][128], unsigned int *n)
{
	config_setting_t *s = config_setting_get_member(g, key);
	int i, cnt;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_err(x, s, "must be a list of strings, not %s", type_name(s));
	cnt = config_setting_length(s);
	if (cnt > MR_API_NAMES_MAX)
		return cfg_err(x, s, "at most %d names", MR_API_NAMES_MAX);
	for (i = 0; i < cnt; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned int)i);
		const char *v;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_err(x, s, "[%d]: must be a string, not %s", i, type_name(e));
		v = config_setting_get_string(e);
		if (v[0] == '\0' || strlen(v) >= 128)
			return cfg_err(x, s, "[%d]: must be 1 to 127 characters long", i);
		for (size_t k = 0; v[k] != '\0'; k++)
			if (!isgraph((unsigned char)v[k]))
				return cfg_err(x, s, "[%d]: must hold only visible ASCII characters",
					       i);
		snprintf(names[i], 128, "%s", v);
	}
	*n = (unsigned int)cnt;
	return 0;
}

/* A loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
static int
ep_loopback(const struct mr_ep *ep)
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (ep->family == MR_AF4)
		return ep->a[0] == 127;
	return memcmp(ep->a, v6_lo, 16) == 0 ||
	       (memcmp(ep->a, v4_mapped, 12) == 0 && ep->a[12] == 127);
}

/* api = { listen = "127.0.0.1:8080"; token = ""; max_body = 131072; ... }; */
static int
parse_api(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = {
		"listen", "token", "max_body", "max_connections", "max_connections_per_address",
		"header_timeout", "request_timeout", "allowed_hosts", "allowed_origins",
		"insecure", NULL
	};
	config_setting_t *g, *s, *ls = NULL, *ts = NULL;
	unsigned int sec;
	const char *v;
	int ret;

	ret = get_group(x, root, "api", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;

	ret = get_string(x, g, "listen", 0, &v, &ls);
	if (ret < 0)
		return ret;
	if (v != NULL && mr_ep_parse(v, &cfg->api_listen) < 0)
		return cfg_err(x, ls, "'%s' is not an IP:port (an IPv6 address goes in "
			       "brackets: \"[::1]:8080\")", v);

	ret = get_string(x, g, "token", 0, &v, &ts);
	if (ret < 0)
		return ret;
	if (v != NULL) {
		if (strlen(v) >= sizeof(cfg->api_token))
			return cfg_err(x, ts, "must be at most %zu characters long",
				       sizeof(cfg->api_token) - 1);
		/* It travels in an HTTP header: visible ASCII only (RFC 6750 §2.1). */
		for (size_t k = 0; v[k] != '\0'; k++)
			if (!isgraph((unsigned char)v[k]))
				return cfg_err(x, ts, "must hold only visible ASCII characters");
		snprintf(cfg->api_token, sizeof(cfg->api_token), "%s", v);
	}

	ret = get_uint_range(x, g, "max_body", API_MAX_BODY_MIN, API_MAX_BODY_MAX,
			     &cfg->api_max_body);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_connections", 16, 1000000,
				     &cfg->api_max_connections);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_connections_per_address", 1, 1000000,
				     &cfg->api_max_conns_per_addr);
	if (ret == 0) {
		sec = cfg->api_header_timeout_ms / 1000;
		ret = get_uint_range(x, g, "header_timeout", 1, 3600, &sec);
		cfg->api_header_timeout_ms = sec * 1000;
	}
	if (ret == 0) {
		sec = cfg->api_request_timeout_ms / 1000;
		ret = get_uint_range(x, g, "request_timeout", 1, 3600, &sec);
		cfg->api_request_timeout_ms = sec * 1000;
	}
	if (ret == 0)
		ret = get_names(x, g, "allowed_hosts", cfg->api_hosts, &cfg->n_api_hosts);
	if (ret == 0)
		ret = get_names(x, g, "allowed_origins", cfg->api_origins, &cfg->n_api_origins);
	if (ret < 0)
		return ret;
	s = config_setting_get_member(g, "insecure");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		cfg->api_insecure = config_setting_get_bool(s);
	}
	if (cfg->api_insecure)
		return 0;
	/* docs/OPERATIONS.md "Security": what an operator must say out loud. */
	if (cfg->api_token[0] == '\0' && !ep_loopback(&cfg->api_listen))
		return cfg_err(x, ls, "a non-loopback address needs api.token (or api.insecure = "
			       "true to run an unauthenticated API on the network)");
	if (cfg->api_token[0] != '\0' && strlen(cfg->api_token) < API_TOKEN_MIN)
		return cfg_err(x, ts, "must be at least %d characters long (or api.insecure = "
			       "true)", API_TOKEN_MIN);
	if (strcmp(cfg->api_token, API_EXAMPLE_TOKEN) == 0)
		return cfg_err(x, ts, "is the example token of config/nic-example.conf: "
			       "replace it with a long random string (or api.insecure = true)");
	return 0;
}

/* rooms = { max_rooms = 1000; ... }; (docs/CONFIG.md "rooms") */
static int
parse_rooms(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = {
		"max_rooms", "max_participants", "max_streams", "ws_timeout",
		"ws_max_connections", "ws_max_message", "ws_max_sendbuf", "nack_cache",
		"ws_join_timeout", "ws_max_pending_per_address", "nack_budget", "pli_interval_ms", "nack_cache_audio_ms", "nack_cache_video_ms",
		"fanout", "consent_timeout", "mix_max_speakers", NULL
	};
	static const char *const fanouts[] = { "auto", "copy", "indirect", NULL };
	struct mr_rooms_conf *r = &cfg->rooms;
	config_setting_t *g;
	int ret, idx = -1;

	ret = get_group(x, root, "rooms", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_rooms", 1, 1000000, &r->max_rooms);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_participants", 2, 10000, &r->max_participants);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_streams", 1, 64, &r->max_streams);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_timeout", 1, 3600, &r->ws_timeout);
	if (ret == 0)
		ret = get_uint_range(x, g, "consent_timeout", 5, 3600, &r->consent_timeout);
	if (ret == 0)
		ret = get_uint_range(x, g, "mix_max_speakers", 0, 64, &r->mix_max_speakers);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_max_connections", 1, 1000000,
				     &r->ws_max_connections);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_join_timeout", 1, 3600, &r->ws_join_timeout);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_max_pending_per_address", 1, 1000000,
				     &r->ws_max_pending_per_address);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_max_message", 1024, 16 << 20, &r->ws_max_message);
	if (ret == 0)
		ret = get_uint_range(x, g, "ws_max_sendbuf", 4096, 64 << 20, &r->ws_max_sendbuf);
	if (ret == 0)
		ret = get_uint_range(x, g, "nack_cache", 0, 4096, &r->nack_cache);
	if (ret < 0)
		return ret;
	if (r->nack_cache != 0 && (r->nack_cache < 64 || (r->nack_cache & (r->nack_cache - 1))))
		return cfg_err(x, config_setting_get_member(g, "nack_cache"),
			       "%u: must be 0 (no cache) or a power of two from 64 to 4096",
			       r->nack_cache);
	ret = get_uint_range(x, g, "nack_budget", 0, 100000, &r->nack_budget);
	if (ret == 0)
		ret = get_uint_range(x, g, "pli_interval_ms", 0, 60000, &r->pli_interval_ms);
	if (ret == 0)
		ret = get_uint_range(x, g, "nack_cache_audio_ms", 1, 60000,
				     &r->nack_cache_audio_ms);
	if (ret == 0)
		ret = get_uint_range(x, g, "nack_cache_video_ms", 1, 60000,
				     &r->nack_cache_video_ms);
	if (ret == 0)
		ret = get_enum(x, g, "fanout", fanouts, &idx);
	if (ret == 0 && idx >= 0)
		r->fanout = (enum mr_fanout)idx;
	return ret;
}

/* ng = { listen = "127.0.0.1:22222"; tcp = true; delete_delay = 0; }; (docs/NG.md) */
static int
parse_ng(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "listen", "tcp", "delete_delay", NULL };
	config_setting_t *g, *s, *ls = NULL;
	const char *v;
	int ret;

	ret = get_group(x, root, "ng", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret == 0)
		ret = get_string(x, g, "listen", 0, &v, &ls);
	if (ret < 0)
		return ret;
	if (v != NULL && mr_ep_parse(v, &cfg->ng_listen) < 0)
		return cfg_err(x, ls, "'%s' is not an IP:port (an IPv6 address goes in "
			       "brackets: \"[::1]:22222\")", v);
	s = config_setting_get_member(g, "tcp");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		cfg->ng_tcp = config_setting_get_bool(s);
	}
	ret = get_uint_range(x, g, "delete_delay", 0, 86400, &cfg->ng_delete_delay);
	if (ret < 0)
		return ret;
	/* The ng protocol has no authentication (as rtpengine's): loopback unless the
	 * operator says api.insecure. */
	if (cfg->ng_listen.family && !ep_loopback(&cfg->ng_listen) && !cfg->api_insecure)
		return cfg_err(x, ls, "the ng protocol has no authentication: a non-loopback "
			       "address needs api.insecure = true (and a firewall)");
	return 0;
}

/* srtp = { engine = "ipsec-mb"; rekey_overlap_ms = 1000; vaes_gcm = true; }; */
static int
parse_srtp(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "engine", "rekey_overlap_ms", "vaes_gcm", NULL };
	static const char *const engines[] = { "ipsec-mb", "libsrtp", NULL };
	config_setting_t *g, *s;
	int ret, idx = -1;

	ret = get_group(x, root, "srtp", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret == 0)
		ret = get_enum(x, g, "engine", engines, &idx);
	if (ret == 0 && idx >= 0)
		cfg->srtp_engine = (unsigned int)idx;
	if (ret == 0)
		ret = get_uint_range(x, g, "rekey_overlap_ms", 0, 60000,
				     &cfg->srtp_rekey_overlap_ms);
	s = ret == 0 ? config_setting_get_member(g, "vaes_gcm") : NULL;
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		cfg->srtp_vaes_gcm = config_setting_get_bool(s);
	}
	return ret;
}

/* state = { redis = "127.0.0.1:6379"; identity = "pop1-a"; password = "..."; queue = 100000;
 * restore = true; restore_timeout = 5; }; */
/* A name that is part of Redis keys or values (state.identity, state.node) into out. */
static int
state_name(struct cfg_ctx *x, const config_setting_t *s, const char *v, char *out,
	   size_t outlen)
{
	size_t k;

	if (v[0] == '\0' || strlen(v) >= outlen)
		return cfg_err(x, s, "must be 1 to %zu characters long", outlen - 1);
	for (k = 0; v[k] != '\0'; k++)
		if (!isalnum((unsigned char)v[k]) && strchr("._-", v[k]) == NULL)
			return cfg_err(x, s, "'%s': only letters, digits, '.', '_' and '-' "
				       "(it is part of Redis keys)", v);
	snprintf(out, outlen, "%s", v);
	return 0;
}

/* state.role, node, heartbeat_ms, takeover_ms (docs/OPERATIONS.md "Active/standby
 * takeover"). */
static int
parse_state_role(struct cfg_ctx *x, const config_setting_t *g, struct mr_state_conf *st)
{
	static const char *const roles[] = { "single", "active", "standby", NULL };
	config_setting_t *s;
	const char *v;
	int ret, idx = -1;

	ret = get_enum(x, g, "role", roles, &idx);
	if (ret < 0)
		return ret;
	if (idx >= 0)
		st->role = (unsigned int)idx;
	ret = get_string(x, g, "node", 0, &v, &s);
	if (ret == 0 && v != NULL)
		ret = state_name(x, s, v, st->node, sizeof(st->node));
	if (ret == 0)
		ret = get_uint_range(x, g, "heartbeat_ms", 10, 10000, &st->heartbeat_ms);
	if (ret == 0)
		ret = get_uint_range(x, g, "takeover_ms", 50, 60000, &st->takeover_ms);
	if (ret < 0)
		return ret;
	/* The holder renews at least twice per TTL: one late renewal must not fence it. */
	if (st->takeover_ms < 2 * st->heartbeat_ms) {
		/* One of the two was given (the defaults agree): name that one. */
		s = config_setting_get_member(g, "takeover_ms");
		if (s == NULL)
			s = config_setting_get_member(g, "heartbeat_ms");
		return cfg_err(x, s, "takeover_ms (%u) must be at least twice heartbeat_ms (%u)",
			       st->takeover_ms, st->heartbeat_ms);
	}
	return 0;
}

static int
parse_state(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = {
		"redis", "identity", "password", "queue", "restore", "restore_timeout", "role",
		"node", "heartbeat_ms", "takeover_ms", "api_url", "placement", "link_srtp", NULL
	};
	struct mr_state_conf *st = &cfg->state;
	config_setting_t *g, *s;
	const char *v;
	unsigned int sec;
	int ret;

	ret = get_group(x, root, "state", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;
	ret = get_string(x, g, "redis", 1, &v, &s);
	if (ret < 0)
		return ret;
	if (mr_ep_parse(v, &st->redis) < 0 || st->redis.port == 0)
		return cfg_err(x, s, "'%s' is not an IP:port (Redis by address, e.g. "
			       "\"127.0.0.1:6379\")", v);
	ret = get_string(x, g, "identity", 1, &v, &s);
	if (ret == 0)
		ret = state_name(x, s, v, st->identity, sizeof(st->identity));
	if (ret == 0)
		ret = parse_state_role(x, g, st);
	if (ret < 0)
		return ret;
	ret = get_string(x, g, "password", 0, &v, &s);
	if (ret < 0)
		return ret;
	if (v != NULL) {
		if (strlen(v) >= sizeof(st->password) || !is_printable(v))
			return cfg_err(x, s, "must be at most %zu printable characters",
				       sizeof(st->password) - 1);
		snprintf(st->password, sizeof(st->password), "%s", v);
	}
	ret = get_string(x, g, "api_url", 0, &v, &s);
	if (ret < 0)
		return ret;
	if (v != NULL) {
		if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
		    strlen(v) >= sizeof(st->api_url) || !is_printable(v) || strchr(v, ' '))
			return cfg_err(x, s, "'%.64s': must be an http:// or https:// URL of at most "
				       "%zu characters", v, sizeof(st->api_url) - 1);
		snprintf(st->api_url, sizeof(st->api_url), "%s", v);
	}
	ret = get_string(x, g, "placement", 0, &v, &s);
	if (ret < 0)
		return ret;
	if (v != NULL) {
		if (strcmp(v, "local") != 0 && strcmp(v, "least_loaded") != 0)
			return cfg_err(x, s, "'%.32s': must be \"local\" or \"least_loaded\"", v);
		st->placement_least_loaded = strcmp(v, "least_loaded") == 0;
	}
	ret = get_string(x, g, "link_srtp", 0, &v, &s);
	if (ret < 0)
		return ret;
	if (v != NULL && strcmp(v, "none") != 0) {
		st->link_srtp = (unsigned int)mr_srtp_suite_by_name(v);
		if (st->link_srtp == MR_SRTP_SUITE_NONE)
			return cfg_err(x, s, "'%.40s': must be \"none\" or an SRTP suite "
				       "(AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, "
				       "AES_256_CM_HMAC_SHA1_80, AEAD_AES_128_GCM, AEAD_AES_256_GCM)", v);
	}
	ret = get_uint_range(x, g, "queue", 16, 10000000, &st->queue);
	if (ret == 0) {
		sec = st->restore_timeout_ms / 1000;
		ret = get_uint_range(x, g, "restore_timeout", 1, 3600, &sec);
		st->restore_timeout_ms = sec * 1000;
	}
	if (ret < 0)
		return ret;
	s = config_setting_get_member(g, "restore");
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return cfg_err(x, s, "must be true or false, not %s", type_name(s));
		st->restore = config_setting_get_bool(s);
	}
	st->enabled = 1;
	return 0;
}

/* A group's directory key (recording, capture, messages): an absolute path with room left
 * for the file names; absent leaves dirv as it is ("" = off). */
static int
parse_dir(struct cfg_ctx *x, const config_setting_t *g, char *dirv, size_t dirlen)
{
	config_setting_t *ds;
	const char *dir = NULL;
	int ret;

	ret = get_string(x, g, "directory", 0, &dir, &ds);
	if (ret == 0 && dir != NULL) {
		if (dir[0] != '/' || strlen(dir) >= dirlen - 80)
			return cfg_err(x, ds,
				       "'%.64s': must be an absolute path shorter than %zu bytes",
				       dir, dirlen - 80);
		snprintf(dirv, dirlen, "%s", dir);
	}
	return ret;
}

/* The keys a writer thread's group has (recording, capture): directory (parse_dir) and ring
 * (a power of two). *g is the group, NULL when absent. */
static int
parse_writer_group(struct cfg_ctx *x, const config_setting_t *root, const char *name,
		   const char *const *keys, config_setting_t **g, char *dirv, size_t dirlen,
		   unsigned int *ring)
{
	int ret;

	ret = get_group(x, root, name, 0, g);
	if (ret < 0 || *g == NULL)
		return ret;
	ret = check_keys(x, *g, keys);
	if (ret == 0)
		ret = parse_dir(x, *g, dirv, dirlen);
	if (ret == 0)
		ret = get_uint_range(x, *g, "ring", 256, 1 << 20, ring);
	if (ret == 0 && (*ring & (*ring - 1)))
		return cfg_err(x, config_setting_get_member(*g, "ring"),
			       "%u: must be a power of two", *ring);
	return ret;
}

/* recording = { directory = "/var/lib/mrelay/recordings"; ring = 8192; }; (docs/CONFIG.md
 * "recording"): no directory, no recording. */
static int
parse_recording(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "directory", "ring", NULL };
	config_setting_t *g;

	return parse_writer_group(x, root, "recording", keys, &g, cfg->rec_dir,
				  sizeof(cfg->rec_dir), &cfg->rec_ring);
}

/* capture = { directory = "/var/lib/mrelay/captures"; ring = 4096; max_active = 8; };
 * (docs/CONFIG.md "capture"): no directory, no per-flow capture. */
static int
parse_capture(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "directory", "ring", "max_active", NULL };
	config_setting_t *g = NULL;
	int ret;

	ret = parse_writer_group(x, root, "capture", keys, &g, cfg->cap_dir,
				 sizeof(cfg->cap_dir), &cfg->cap_ring);
	if (ret == 0 && g != NULL)
		ret = get_uint_range(x, g, "max_active", 1, 64, &cfg->cap_max_active);
	return ret;
}

/* messages = { directory = "/var/lib/mrelay/messages"; max_bytes = 1048576;
 * max_count = 1000; }; (docs/CONFIG.md "messages"): no directory, no voice messages. */
static int
parse_messages(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "directory", "max_bytes", "max_count", NULL };
	config_setting_t *g;
	int ret;

	ret = get_group(x, root, "messages", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret == 0)
		ret = parse_dir(x, g, cfg->msg_dir, sizeof(cfg->msg_dir));
	if (ret == 0)
		ret = get_uint_range(x, g, "max_bytes", 1024, 64u << 20, &cfg->msg_max_bytes);
	if (ret == 0)
		ret = get_uint_range(x, g, "max_count", 1, 100000, &cfg->msg_max_count);
	return ret;
}

/* log = { level = "info"; }; */
static int
parse_log(struct cfg_ctx *x, const config_setting_t *root, struct mr_config *cfg)
{
	static const char *const keys[] = { "level", NULL };
	static const char *const words[] = { "error", "warning", "info", "debug", NULL };
	static const int levels[] = { RTE_LOG_ERR, RTE_LOG_WARNING, RTE_LOG_INFO,
				      RTE_LOG_DEBUG };
	config_setting_t *g;
	int ret, idx = -1;

	ret = get_group(x, root, "log", 0, &g);
	if (ret < 0 || g == NULL)
		return ret;
	ret = check_keys(x, g, keys);
	if (ret < 0)
		return ret;
	ret = get_enum(x, g, "level", words, &idx);
	if (ret == 0 && idx >= 0)
		cfg->log_level = levels[idx];
	return ret;
}

static void
config_defaults(struct mr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port_min = DEF_PORT_MIN;
	cfg->port_max = DEF_PORT_MAX;
	cfg->idle_timeout = DEF_IDLE_TIMEOUT;
	cfg->relatch_timeout_ms = DEF_RELATCH_MS;
	cfg->latch_packets = DEF_LATCH_PACKETS;
	cfg->latch_window_ms = DEF_LATCH_WINDOW_MS;
	cfg->latch_signalled_only = 1;
	cfg->max_sessions = DEF_MAX_SESSIONS;
	cfg->ended_history = DEF_ENDED_HISTORY;
	cfg->mbufs = DEF_MBUFS;
	mr_ep_parse(DEF_API_LISTEN, &cfg->api_listen);
	cfg->api_max_body = DEF_API_MAX_BODY;
	cfg->log_level = RTE_LOG_INFO;
	cfg->rooms.max_rooms = 1000;
	cfg->rooms.max_participants = 100;
	cfg->rooms.max_streams = 8;
	cfg->rooms.ws_timeout = 30;
	cfg->rooms.consent_timeout = 30;
	/* Everyone is mixed unless told: selection changes what rooms sound like. */
	cfg->rooms.mix_max_speakers = 0;
	cfg->rooms.ws_max_connections = 65536;
	cfg->rooms.ws_join_timeout = 10;
	cfg->rooms.ws_max_pending_per_address = 16;
	cfg->api_max_connections = 4096;
	cfg->api_max_conns_per_addr = 64;
	cfg->api_header_timeout_ms = 5000;
	cfg->api_request_timeout_ms = 30000;
	cfg->rooms.ws_max_message = 65536;
	cfg->rooms.ws_max_sendbuf = 1 << 20;
	cfg->rooms.nack_cache = 512;
	cfg->rooms.nack_budget = 200;
	cfg->rooms.pli_interval_ms = 1000;
	cfg->rooms.nack_cache_audio_ms = 1000;
	cfg->rooms.nack_cache_video_ms = 2000;
	cfg->rooms.fanout = MR_FANOUT_AUTO;
	cfg->srtp_rekey_overlap_ms = 1000;
	cfg->srtp_vaes_gcm = 1;
	cfg->ng_tcp = 1;
	cfg->state.queue = 100000;
	cfg->state.restore_timeout_ms = 5000;
	cfg->state.restore = 1;
	cfg->state.heartbeat_ms = 100;
	cfg->state.takeover_ms = 500;
	cfg->rec_ring = 8192;
	cfg->cap_ring = 4096;
	cfg->cap_max_active = 8;
	cfg->msg_max_bytes = 1u << 20;
	cfg->msg_max_count = 1000;
}

static int
config_from_text(const char *text, const char *path, const char *include_dir,
		 struct mr_config *cfg, char *err, size_t errlen)
{
	static const char *const top_keys[] = {
		"eal", "lcores", "ports", "relay", "api", "log", "rooms", "srtp", "ng",
		"state", "recording", "capture", "messages", NULL
	};
	char dummy[1];
	struct cfg_ctx x = {
		.path = path != NULL ? path : "(string)",
		.err = err != NULL && errlen > 0 ? err : dummy,
		.errlen = err != NULL && errlen > 0 ? errlen : sizeof(dummy),
	};
	const config_setting_t *root;
	int ret;

	x.err[0] = '\0';
	config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", x.path);

	config_init(&x.lc);
	if (include_dir != NULL)
		config_set_include_dir(&x.lc, include_dir);
	if (config_read_string(&x.lc, text) != CONFIG_TRUE) {
		const char *what = config_error_text(&x.lc);

		snprintf(x.err, x.errlen, "%s:%d: %s", config_error_file(&x.lc) != NULL ?
			 config_error_file(&x.lc) : x.path, config_error_line(&x.lc),
			 what != NULL ? what : "syntax error");
		ret = -EINVAL;
		goto destroy;
	}
	ret = check_overflow(&x, text, NULL);
	if (ret == 0)
		ret = check_includes(&x, include_dir);
	if (ret < 0)
		goto destroy;

	root = config_root_setting(&x.lc);
	ret = check_keys(&x, root, top_keys);
	if (ret == 0)
		ret = parse_eal(&x, root, cfg);
	if (ret == 0)
		ret = parse_lcores(&x, root, cfg);
	if (ret == 0)
		ret = parse_ports(&x, root, cfg);
	if (ret == 0)
		ret = check_eal(&x, root, cfg);
	if (ret == 0)
		ret = parse_relay(&x, root, cfg);
	if (ret == 0)
		ret = parse_api(&x, root, cfg);
	if (ret == 0)
		ret = parse_log(&x, root, cfg);
	if (ret == 0)
		ret = parse_rooms(&x, root, cfg);
	if (ret == 0)
		ret = parse_srtp(&x, root, cfg);
	if (ret == 0)
		ret = parse_ng(&x, root, cfg);
	if (ret == 0)
		ret = parse_state(&x, root, cfg);
	if (ret == 0)
		ret = parse_recording(&x, root, cfg);
	if (ret == 0)
		ret = parse_capture(&x, root, cfg);
	if (ret == 0)
		ret = parse_messages(&x, root, cfg);
destroy:
	config_destroy(&x.lc);
	if (ret < 0)
		mr_config_free(cfg);
	return ret;
}

int
mr_config_load_string(const char *text, const char *path, struct mr_config *cfg,
		      char *err, size_t errlen)
{
	if (cfg == NULL)
		return -EINVAL;
	if (text == NULL) {
		config_defaults(cfg);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: no configuration text",
				 path != NULL ? path : "(string)");
		return -EINVAL;
	}
	return config_from_text(text, path, NULL, cfg, err, errlen);
}

int
mr_config_load(const char *path, struct mr_config *cfg, char *err, size_t errlen)
{
	char dir[512];
	const char *slash;
	char *text;
	int ret;

	if (cfg == NULL || path == NULL)
		return -EINVAL;
	config_defaults(cfg);
	text = read_text(path, &ret);
	if (text == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path,
				 ret == -EILSEQ ? "the file contains a NUL byte" :
				 ret == -EISDIR ? "not a regular file" : strerror(-ret));
		return ret == -ENOENT ? -ENOENT : ret == -EILSEQ ? -EINVAL :
			ret == -EACCES ? -EACCES : -EIO;
	}
	/* "@include" names are relative to the including file, as in a compiler. */
	slash = strrchr(path, '/');
	if (slash != NULL && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (dir[0] == '\0')
			snprintf(dir, sizeof(dir), "/");
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	ret = config_from_text(text, path, dir, cfg, err, errlen);
	free(text);
	return ret;
}

void
mr_config_free(struct mr_config *cfg)
{
	int i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_eal_args && i < MR_MAX_EAL_ARGS; i++) {
		free(cfg->eal_args[i]);
		cfg->eal_args[i] = NULL;
	}
	cfg->n_eal_args = 0;
}
