# SPDX-License-Identifier: BSD-3-Clause
"""Operating tools against a running daemon (filled below)."""
