/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the active speaker, from the RFC 6464 audio levels of a room's streams, with
 * hysteresis (rooms.h, struct mr_speaker). Pure: the tick (tick.c) feeds it one look every
 * MR_SPK_LOOK_MS.
 */
#include <stdint.h>
#include <string.h>

#include "rooms.h"
#include "rooms_priv.h"

void
mr_speaker_init(struct mr_speaker *s)
{
	memset(s, 0, sizeof(*s));
	s->level_q8 = MR_LEVEL_SILENCE_Q8;
}

int
mr_speaker_look(struct mr_speaker *s, const struct mr_speaker_in *in, unsigned int n)
{
	const struct mr_speaker_in *best = NULL;
	uint32_t cur_level = MR_LEVEL_SILENCE_Q8;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!in[i].active || in[i].level_q8 >= MR_SPK_SILENCE_Q8)
			continue;
		if (best == NULL || in[i].level_q8 < best->level_q8)
			best = &in[i];
		/* The speaker's own loudest active stream is its level now. */
		if (in[i].part == s->part && in[i].level_q8 < cur_level)
			cur_level = in[i].level_q8;
	}
	if (s->part != 0)
		s->level_q8 = cur_level;
	if (best == NULL || best->part == s->part) {
		s->challenger = 0;
		s->wins = 0;
		if (best != NULL)
			s->stream = best->stream;
		return 0;
	}
	if (s->part == 0) {
		s->part = best->part;
		s->stream = best->stream;
		s->level_q8 = best->level_q8;
		s->challenger = 0;
		s->wins = 0;
		return 1;
	}
	if (best->level_q8 + MR_SPK_MARGIN_Q8 > cur_level) {
		/* Not louder by the margin: no challenge (a slight edge is not a turn). */
		s->challenger = 0;
		s->wins = 0;
		return 0;
	}
	if (s->challenger != best->part) {
		s->challenger = best->part;
		s->wins = 0;
	}
	if (++s->wins < MR_SPK_LOOKS)
		return 0;
	s->part = best->part;
	s->stream = best->stream;
	s->level_q8 = best->level_q8;
	s->challenger = 0;
	s->wins = 0;
	return 1;
}

int
mr_speaker_emit_due(struct mr_speaker *s, uint64_t now_ms)
{
	if (s->part == s->emitted)
		return 0;
	if (s->announced && now_ms - s->emit_ms < MR_SPK_EMIT_MS)
		return 0;
	s->announced = 1;
	s->emitted = s->part;
	s->emit_ms = now_ms;
	return 1;
}

void
mr_speaker_forget(struct mr_speaker *s, uint32_t part)
{
	if (s->challenger == part) {
		s->challenger = 0;
		s->wins = 0;
	}
	if (s->part == part) {
		s->part = 0;
		s->stream = 0;
		s->level_q8 = MR_LEVEL_SILENCE_Q8;
	}
}
