/* SPDX-License-Identifier: BSD-3-Clause
 * Jitter buffer of a mixing room's participant (jbuf.h).
 */
#include <string.h>

#include "jbuf.h"

#define MASK (MR_JB_SLOTS - 1)

void
mr_jb_init(struct mr_jb *jb, unsigned int depth)
{
	memset(jb, 0, sizeof(*jb));
	if (depth < 1)
		depth = 1;
	if (depth > MR_JB_SLOTS - MR_JB_SLACK - 2)
		depth = MR_JB_SLOTS - MR_JB_SLACK - 2;
	jb->depth = (uint16_t)depth;
}

static inline int16_t
seq_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}

/* The oldest sequence number held (count > 0). */
static uint16_t
oldest(const struct mr_jb *jb)
{
	uint16_t best = 0;
	int have = 0;
	unsigned int i;

	for (i = 0; i < MR_JB_SLOTS; i++)
		if (jb->slot[i].len != 0 && (!have || seq_diff(jb->slot[i].seq, best) < 0)) {
			best = jb->slot[i].seq;
			have = 1;
		}
	return best;
}

enum mr_jb_put_res
mr_jb_put(struct mr_jb *jb, uint16_t seq, const uint8_t *data, uint16_t len)
{
	struct mr_jb_slot *s = &jb->slot[seq & MASK];

	if (len == 0 || len > MR_JB_MAX_PKT) {
		jb->st.too_big++;
		return MR_JB_TOO_BIG;
	}
	if (jb->playing && seq_diff(seq, jb->next) < 0) {
		jb->st.late++;
		return MR_JB_LATE;
	}
	if (jb->playing && seq_diff(seq, jb->next) >= MR_JB_SLOTS) {
		/* Far ahead (a jump in the sender's sequence): start over from it. */
		unsigned int i;

		for (i = 0; i < MR_JB_SLOTS; i++)
			jb->slot[i].len = 0;
		jb->count = 0;
		jb->playing = 0;
	}
	if (s->len != 0) {
		if (s->seq == seq) {
			jb->st.dup++;
			return MR_JB_DUP;
		}
		/* Not playing yet, a full lap ahead of what the slot holds: the older goes. */
		jb->count--;
	}
	s->seq = seq;
	s->len = len;
	memcpy(s->data, data, len);
	jb->count++;
	jb->st.put++;
	return MR_JB_STORED;
}

enum mr_jb_out
mr_jb_get(struct mr_jb *jb, const uint8_t **data, uint16_t *len)
{
	struct mr_jb_slot *s, *n;

	if (!jb->playing) {
		if (jb->count < jb->depth)
			return MR_JB_NONE;
		jb->playing = 1;
		jb->misses = 0;
		jb->next = oldest(jb);
	}
	/* Drift: more than depth + slack held, the oldest frame is dropped. */
	while (jb->count > jb->depth + MR_JB_SLACK) {
		s = &jb->slot[jb->next & MASK];
		if (s->len != 0 && s->seq == jb->next) {
			s->len = 0;
			jb->count--;
		}
		jb->next++;
		jb->st.skipped++;
	}
	s = &jb->slot[jb->next & MASK];
	n = &jb->slot[(uint16_t)(jb->next + 1) & MASK];
	if (s->len != 0 && s->seq == jb->next) {
		*data = s->data;
		*len = s->len;
		s->len = 0;		/* the caller decodes it before the next put */
		jb->count--;
		jb->next++;
		jb->misses = 0;
		jb->st.played++;
		return MR_JB_PACKET;
	}
	*data = NULL;
	*len = 0;
	if (jb->count == 0) {
		/* Nothing held: an underflow (a slow sender's clock, a late burst), or the
		 * end of a talk spurt; the frame is concealed but the playout point stays, so
		 * the packet, when it comes, is not late. */
		if (++jb->misses > MR_JB_MAX_PLC) {
			jb->playing = 0;
			return MR_JB_NONE;
		}
		jb->st.concealed++;
		return MR_JB_PLC;
	}
	/* Later packets are here: this one is lost. */
	jb->next++;
	if (n->len != 0 && n->seq == jb->next) {
		/* The next packet is here: its FEC rebuilds this frame; it stays for the next
		 * tick. */
		*data = n->data;
		*len = n->len;
		jb->st.fec++;
		return MR_JB_FEC;
	}
	jb->st.concealed++;
	return MR_JB_PLC;
}
