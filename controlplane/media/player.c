/* SPDX-License-Identifier: BSD-3-Clause
 * A voice message as an RTP stream (player.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <opus.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "appliance.h"
#include "cmd.h"
#include "cmdq.h"
#include "g711.h"
#include "json_req.h"
#include "messages.h"
#include "player.h"

#define PLAYER_MAX_8K 960		/* 120 ms at 8 kHz: Opus's longest packet */

static const char *const codec_name[] = { "opus", "pcmu", "pcma", "telephone-event" };

#define DTMF_PKT 9			/* payload 4, timestamp offset 4, marker 1 */

int
mr_dtmf_code(char digit)
{
	static const char ev[] = "0123456789*#ABCD";
	const char *p;

	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	p = digit != '\0' ? strchr(ev, digit) : NULL;
	return p != NULL ? (int)(p - ev) : -1;
}

struct mr_msg_audio *
mr_dtmf_audio(const char *digits, unsigned int duration_ms, unsigned int pause_ms,
	      unsigned int volume, unsigned int rate, char *err, size_t errlen)
{
	size_t nd = strlen(digits), i;
	unsigned int upd = (duration_ms + 19) / 20, per = upd + 3, j, n = 0;
	uint64_t ts = 0, ms = 0;
	struct mr_msg_audio *au;

	if (nd == 0 || nd > MR_DTMF_MAX_DIGITS) {
		snprintf(err, errlen, "1 to %d digits", MR_DTMF_MAX_DIGITS);
		return NULL;
	}
	for (i = 0; i < nd; i++)
		if (mr_dtmf_code(digits[i]) < 0) {
			snprintf(err, errlen, "'%c' is not a DTMF digit (0-9, *, #, A-D)",
				 digits[i] >= ' ' && digits[i] < 127 ? digits[i] : '?');
			return NULL;
		}
	if (upd == 0 || volume > 63 || rate < 8000 || rate % 8000 != 0) {
		snprintf(err, errlen, "duration, volume or clock out of range");
		return NULL;
	}
	au = calloc(1, sizeof(*au));
	if (au == NULL)
		goto nomem;
	au->pkt = calloc(nd * per, sizeof(*au->pkt));
	au->data = calloc(nd * per, DTMF_PKT);
	if (au->pkt == NULL || au->data == NULL)
		goto nomem;
	for (i = 0; i < nd; i++) {
		/* The duration field is 16 bits of the event's clock (§2.5.1.3). */
		uint32_t full = (uint32_t)((uint64_t)duration_ms * rate / 1000);

		if (full > 0xffff)
			full = 0xffff;
		for (j = 0; j < per; j++, n++) {
			uint8_t *d = au->data + (size_t)n * DTMF_PKT;
			uint32_t dur = j < upd ? (uint32_t)((uint64_t)(j + 1) * 20 * rate / 1000) :
				       full;
			uint32_t off = (uint32_t)ts;

			if (dur > full)
				dur = full;
			d[0] = (uint8_t)mr_dtmf_code(digits[i]);
			d[1] = (uint8_t)((j >= upd ? 0x80 : 0) | volume);
			d[2] = (uint8_t)(dur >> 8);
			d[3] = (uint8_t)dur;
			d[4] = (uint8_t)(off >> 24);
			d[5] = (uint8_t)(off >> 16);
			d[6] = (uint8_t)(off >> 8);
			d[7] = (uint8_t)off;
			d[8] = j == 0;
			au->pkt[n].off = (uint32_t)n * DTMF_PKT;
			au->pkt[n].len = 4;
			/* Updates every 20 ms; the three end packets together, then the pause. */
			au->pkt[n].samples = (uint16_t)(j + 1 < upd ? 960 :
				j + 1 == upd ? (duration_ms - 20 * (upd - 1)) * 48 :
				j + 1 < per ? 0 : (pause_ms > 1365 ? 65535 : pause_ms * 48));
		}
		ts += (uint64_t)(duration_ms + pause_ms) * rate / 1000;
		ms += duration_ms + pause_ms;
	}
	au->n = n;
	au->duration_ms = ms;
	return au;
nomem:
	mr_msg_audio_free(au);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int
mr_player_codec(const char *name, uint8_t *codec)
{
	uint8_t i;

	for (i = 0; i < 3; i++) {	/* not telephone-event: it plays no message */
		if (strcmp(name, codec_name[i]) == 0) {
			*codec = i;
			return 0;
		}
	}
	return -1;
}

const char *
mr_player_codec_name(uint8_t codec)
{
	return codec < 4 ? codec_name[codec] : "?";
}

uint8_t
mr_player_default_pt(uint8_t codec)
{
	return codec == MR_PLAY_PCMU ? 0 : codec == MR_PLAY_PCMA ? 8 : 111;
}

int
mr_player_init(struct mr_player *p, struct mr_msg_audio *au, uint8_t codec, uint8_t pt,
	       uint32_t ssrc, uint64_t now)
{
	int err;

	memset(p, 0, sizeof(*p));
	if (getrandom(&p->seq0, sizeof(p->seq0), 0) < 0 ||
	    getrandom(&p->ts0, sizeof(p->ts0), 0) < 0)
		return -errno;
	if (codec == MR_PLAY_PCMU || codec == MR_PLAY_PCMA) {
		p->dec = (struct OpusDecoder *)opus_decoder_create(8000, 1, &err);
		if (p->dec == NULL)
			return -ENOMEM;
	}
	p->au = au;
	p->codec = codec;
	p->pt = pt;
	p->ssrc = ssrc;
	p->packets = au->n;
	p->start_tsc = now;
	return 0;
}

void
mr_player_fini(struct mr_player *p)
{
	if (p->dec != NULL)
		opus_decoder_destroy((OpusDecoder *)p->dec);
	p->dec = NULL;
	mr_msg_audio_free(p->au);
	p->au = NULL;
}

static uint64_t
player_at(uint64_t samples, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)samples * hz / 48000);
}

int
mr_player_due(const struct mr_player *p, uint64_t now, uint64_t hz)
{
	return p->next < p->packets && now - p->start_tsc >= player_at(p->samples, hz);
}

int
mr_player_done(const struct mr_player *p, uint64_t now, uint64_t hz)
{
	/* The last packet lasts its own frame: the end is when it has played. */
	return p->next >= p->packets && now - p->start_tsc >= player_at(p->samples, hz);
}

/* Packet next decoded at 8 kHz and companded into out: the byte count (its 8 kHz samples). */
static int
player_g711(struct mr_player *p, const struct mr_msg_pkt *k, uint8_t *out)
{
	OpusDecoder *dec = (OpusDecoder *)p->dec;
	int16_t pcm[PLAYER_MAX_8K];
	int want = k->samples / 6, n;

	if (want <= 0 || want > PLAYER_MAX_8K)
		want = 160;
	n = opus_decode(dec, p->au->data + k->off, k->len, pcm, want, 0);
	if (n != want) {
		/* Not what its TOC said: concealed, so the timing holds. */
		p->decode_errors++;
		n = opus_decode(dec, NULL, 0, pcm, want, 0);
		if (n != want) {
			memset(pcm, 0, sizeof(pcm[0]) * (size_t)want);
			n = want;
		}
	}
	mr_g711_encode(pcm, out, (size_t)n, p->codec == MR_PLAY_PCMA);
	return n;
}

struct rte_mbuf *
mr_player_packet(struct mr_player *p, struct rte_mempool *mp)
{
	const struct mr_msg_pkt *k = &p->au->pkt[p->next];
	const uint8_t *dt = p->au->data + k->off;	/* DTMF: payload, event offset, marker */
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t plen = p->codec == MR_PLAY_OPUS || p->codec == MR_PLAY_DTMF ? k->len :
			PLAYER_MAX_8K;
	/* Opus: 48 kHz timestamps; G.711: 8 kHz; an event: its start, in its own clock. */
	uint32_t ts = p->ts0 + (p->codec == MR_PLAY_DTMF ?
				(uint32_t)dt[4] << 24 | (uint32_t)dt[5] << 16 |
				(uint32_t)dt[6] << 8 | dt[7] :
				(uint32_t)(p->codec == MR_PLAY_OPUS ? p->samples : p->samples / 6));
	rte_be16_t seq_be = rte_cpu_to_be_16((uint16_t)(p->seq0 + p->next));
	rte_be32_t ts_be = rte_cpu_to_be_32(ts);
	rte_be32_t ssrc_be = rte_cpu_to_be_32(p->ssrc);
	uint8_t *h;
	int n;

	if (m == NULL)
		return NULL;
	h = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(12 + plen));
	if (h == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	h[0] = 0x80;
	/* The marker bit on the first packet of a talkspurt (RFC 3551 §4.1), and of each
	 * event (RFC 4733 §2.5.1.3). */
	h[1] = (uint8_t)((p->codec == MR_PLAY_DTMF ? (dt[8] ? 0x80 : 0) :
			  p->next == p->first ? 0x80 : 0) | p->pt);
	memcpy(h + 2, &seq_be, 2);
	memcpy(h + 4, &ts_be, 4);
	memcpy(h + 8, &ssrc_be, 4);
	if (p->codec == MR_PLAY_OPUS || p->codec == MR_PLAY_DTMF) {
		memcpy(h + 12, p->au->data + k->off, k->len);
		return m;
	}
	n = player_g711(p, k, h + 12);
	rte_pktmbuf_trim(m, (uint16_t)(PLAYER_MAX_8K - n));
	return m;
}

void
mr_player_advance(struct mr_player *p)
{
	p->samples += p->au->pkt[p->next].samples;
	p->next++;
}

void
mr_player_skip(struct mr_player *p, uint32_t n, uint64_t hz)
{
	while (n-- > 0 && p->next < p->packets)
		mr_player_advance(p);
	p->first = p->next;
	/* Due at once: the clock starts where the skipped packets end. */
	p->start_tsc -= player_at(p->samples, hz);
}

void
mr_player_rewind(struct mr_player *p, uint64_t hz)
{
	/* The stream goes on: sequence numbers and timestamps continue, and the first packet
	 * again is due when the last one has played. */
	p->seq0 = (uint16_t)(p->seq0 + p->next);
	p->ts0 += (uint32_t)(p->codec == MR_PLAY_OPUS ? p->samples : p->samples / 6);
	p->start_tsc += player_at(p->samples, hz);
	p->samples = 0;
	p->next = 0;
	p->first = 0;
}

void
mr_player_send_due(struct mr_player *p, uint64_t now, uint64_t hz, struct mr_appliance *a,
		   unsigned int w, const struct mr_cmd *tmpl)
{
	struct rte_mbuf *m;
	struct mr_cmd c;

	while (mr_player_due(p, now, hz)) {
		m = mr_player_packet(p, a->mp);
		if (m == NULL) {
			p->drop_no_mbuf++;
		} else {
			c = *tmpl;
			c.arg = m;
			/* Never waited on: a packet late is a packet lost. */
			if (mr_cmdq_send(&a->cmdq, w, &c, 1, 0, NULL) < 0) {
				rte_pktmbuf_free(m);
				p->drop_ring_full++;
			} else {
				p->sent++;
			}
		}
		mr_player_advance(p);
	}
}

int
mr_player_req_parse(const char *body, size_t len, int legs, struct mr_play_req *rq, json_t **o,
		    json_t **out)
{
	static const char *const keys[] = { "message", "codec", "pt", "ssrc", "leg" };
	char err[256], buf[48];
	const char *key, *c;
	json_int_t v;
	unsigned int i;
	json_t *x;

	memset(rq, 0, sizeof(*rq));
	*o = mr_json_body_load(body, len, err, sizeof(err));
	if (*o == NULL)
		return mr_json_err(out, 400, "%s", err);
	json_object_foreach(*o, key, x) {
		for (i = 0; i < 4u + (legs != 0); i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == 4u + (legs != 0))
			return mr_json_err(out, 400, "%s: unknown field (allowed: message, codec, "
					   "pt, ssrc%s)", mr_json_echo(key, buf, sizeof(buf)),
					   legs ? ", leg" : "");
	}
	rq->message = json_string_value(json_object_get(*o, "message"));
	if (rq->message == NULL)
		return mr_json_err(out, 400, "message: required, a voice message id (string)");
	x = json_object_get(*o, "codec");
	if (x != NULL) {
		c = json_string_value(x);
		if (c == NULL || mr_player_codec(c, &rq->codec) < 0)
			return mr_json_err(out, 400, "codec: must be \"opus\", \"pcmu\" or "
					   "\"pcma\"");
	}
	rq->pt = mr_player_default_pt(rq->codec);
	x = json_object_get(*o, "pt");
	if (x != NULL) {
		v = json_is_integer(x) ? json_integer_value(x) : -1;
		if (v < 0 || v > 127 || (v >= 72 && v <= 76))
			return mr_json_err(out, 400, "pt: must be an RTP payload type, 0..127 (not "
					   "72..76, RFC 5761 §4)");
		rq->pt = (uint8_t)v;
	}
	x = json_object_get(*o, "ssrc");
	if (x != NULL) {
		v = json_is_integer(x) ? json_integer_value(x) : -1;
		if (v < 1 || v > 0xffffffffLL)
			return mr_json_err(out, 400, "ssrc: must be an integer, 1..4294967295");
		rq->ssrc = (uint32_t)v;
	}
	if (legs) {
		x = json_object_get(*o, "leg");
		v = json_is_integer(x) ? json_integer_value(x) : -1;
		if (v != 0 && v != 1)
			return mr_json_err(out, 400, "leg: required, 0 or 1 (the leg whose remote "
					   "hears the message)");
		rq->leg = (int)v;
	}
	return 0;
}
