"""Which items each rank trains on, in which order: shard-local shuffling that resumes exactly.

A global random permutation reads a 2.4 TB feature cache at random; here an epoch visits the
cache's shards in a random order and shuffles items inside each shard, so batches are cut from
one shard at a time and the reads move through the cache shard by shard (the page cache and
read-ahead do the rest). The order is a pure function of (seed, epoch): nothing to save in a
checkpoint, and a run resumed mid-epoch skips exactly the batches it had already trained on.
Ranks take every world_size-th batch and all get the same number of batches, so DDP's
collectives stay in step.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class ShardedBatchSampler(Sampler[list[int]]):
    def __init__(self, groups: Sequence[np.ndarray], batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 drop_last: bool = True, shuffle: bool = True):
        self.groups = [np.asarray(g) for g in groups if len(g)]
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.shuffle = shuffle
        self.total = sum(len(g) for g in self.groups)
        # never drop everything: a tiny data set keeps its one short batch
        self.drop_last = drop_last and self.total >= batch_size * world_size
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch's order, and skip the first ``start_batch`` batches (mid-epoch resume)."""
        self.epoch, self.start_batch = epoch, start_batch

    def _batches(self) -> list[np.ndarray]:
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            stream = np.concatenate([rng.permutation(self.groups[g]) for g in rng.permutation(len(self.groups))]) \
                if self.groups else np.zeros(0, dtype=np.int64)
        else:
            stream = np.concatenate(self.groups) if self.groups else np.zeros(0, dtype=np.int64)
        cuts = range(0, len(stream), self.batch_size)
        batches = [stream[c:c + self.batch_size] for c in cuts]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        per_rank = len(batches) // self.world_size if self.world_size > 1 else len(batches)
        if self.world_size > 1:
            per_rank = max(per_rank, 1 if batches else 0)
            mine = batches[self.rank::self.world_size]
            mine = (mine + batches[:1])[:per_rank] if len(mine) < per_rank else mine[:per_rank]
            return mine
        return batches

    def __len__(self) -> int:
        return len(self._batches())

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._batches()[self.start_batch:]:
            yield batch.tolist()
