"""tinynet.data / tinynet.utils.data against torch.utils.data: collate, samplers, datasets,
DataLoader options, and worker processes (same batches, errors with tracebacks, clean exits).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _np(x):
    return x.detach().numpy() if isinstance(x, tn.Tensor) else x.detach().cpu().numpy()


def _list(x):
    return np.asarray(_np(x) if isinstance(x, tn.Tensor) else x).tolist()


def _same(ours, theirs, torch):
    """Structure, dtype and values of a tinynet batch equal a torch batch."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tn.Tensor), (ours, theirs)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(_np(ours), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k], torch)
    elif isinstance(theirs, (list, tuple)):
        assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, torch)
    else:
        assert ours == theirs


Point = collections.namedtuple("Point", "x y")

# ----- default_collate -----------------------------------------------------------------------

SAME_AS_TORCH = [
    [1, 2, 3], [2.5, 1, 3], [True, False], [True, 2, 7], [1.0, 1e300],
    [np.float32(1), np.float32(2.5)], [np.int32(1), np.int32(-4)], [np.float64(1.5), 2],
    [np.arange(3), np.arange(3) * 2], [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    [(1, 2.0), (3, 4.0)], [[1, 2], [3, 4]], [{"a": 1, "b": [1.0, 2]}, {"a": 2, "b": [3.0, 4]}],
    [Point(1, 2.0), Point(3, 4.0)], ["x", "y"], [(np.arange(2), "s", 1), (np.arange(2), "t", 0)],
]  # fmt: skip


@pytest.mark.parametrize("batch", SAME_AS_TORCH, ids=range(len(SAME_AS_TORCH)))
def test_default_collate_matches_torch(torch, batch):
    from torch.utils.data import default_collate as torch_collate

    _same(default_collate(batch), torch_collate(batch), torch)


def test_default_collate_stacks_tensors_like_torch(torch):
    from torch.utils.data import default_collate as torch_collate

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ours = default_collate([(tn.tensor(a), tn.tensor(1)), (tn.tensor(a + 1), tn.tensor(0))])
    theirs = torch_collate(
        [(torch.tensor(a), torch.tensor(1)), (torch.tensor(a + 1), torch.tensor(0))]
    )
    _same(ours, theirs, torch)
    with pytest.raises(RuntimeError, match=r"equal size.*\[3\] at entry 0 and \[2\] at entry 1"):
        default_collate([tn.zeros(3), tn.zeros(2)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="<U1"):
        default_collate([np.array(["a"]), np.array(["b"])])


@pytest.mark.parametrize(
    "batch,dtype",
    [([1, 2.5, 3.7], tn.float64), ([1, 1e300], tn.float64), ([True, 2, 7], tn.int64),
     ([False, True], tn.bool), ([3, 4], tn.int64), ([0.1, 0.2], tn.float64)],
)  # fmt: skip
def test_python_numbers_promote_over_the_whole_batch_and_keep_their_values(batch, dtype):
    out = default_collate(batch)
    assert out.dtype == dtype
    assert out.tolist() == [type(out.tolist()[0])(v) for v in batch]  # exact, no rounding
    assert np.isfinite(out.numpy().astype(np.float64)).all()


def test_collate_refuses_ints_out_of_int64():
    with pytest.raises(OverflowError, match="int64"):
        default_collate([2**70, 1])


def test_default_convert_matches_torch(torch):
    from torch.utils.data import default_convert as torch_convert

    for data in [np.arange(3), (np.ones(2), 3), {"a": np.float32(2.0)}, "s", [np.zeros(2)]]:
        _same(default_convert(data), torch_convert(data), torch)


# ----- samplers ----------------------------------------------------------------------------


def test_sequential_and_batch_sampler_match_torch(torch):
    import torch.utils.data as tud

    assert list(SequentialSampler(range(7))) == list(tud.SequentialSampler(range(7)))
    for bs, drop in [(1, False), (3, False), (3, True), (7, True), (10, False)]:
        ours = BatchSampler(SequentialSampler(range(7)), bs, drop)
        theirs = tud.BatchSampler(tud.SequentialSampler(range(7)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert [b.tolist() for b in ours._index_batches()] == list(theirs)
    assert list(BatchSampler([5, 3, 1, 0], 3, False)) == [[5, 3, 1], [0]]
    for bad in [0, -1, 2.5, True]:
        with pytest.raises(ValueError, match="batch_size"):
            tud.BatchSampler(range(3), bad, False)
        with pytest.raises(ValueError, match="batch_size"):
            BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(3), 2, drop_last="no")


def test_random_sampler_semantics():
    g = tn.Generator().manual_seed(0)
    a = list(RandomSampler(range(20), generator=g))
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert a == list(RandomSampler(range(20), generator=tn.Generator().manual_seed(0)))
    assert list(RandomSampler(range(20), generator=g)) != a  # the generator advanced
    chained = list(RandomSampler(range(5), num_samples=12, generator=g))
    assert len(chained) == 12 and sorted(chained[:5]) == sorted(chained[5:10]) == list(range(5))
    with_rep = RandomSampler(range(5), replacement=True, num_samples=50, generator=g)
    assert len(with_rep) == 50 and set(with_rep) <= set(range(5))
    tn.manual_seed(3)
    x = list(RandomSampler(range(10)))
    tn.manual_seed(3)
    assert list(RandomSampler(range(10))) == x, "without a generator: tn.manual_seed's stream"
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def test_subset_and_weighted_samplers():
    g = tn.Generator().manual_seed(1)
    s = list(SubsetRandomSampler([10, 11, 12, 13], generator=g))
    assert sorted(s) == [10, 11, 12, 13]
    w = WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], num_samples=4000, generator=g)
    draws = np.bincount(list(w), minlength=4)
    assert draws[0] == draws[3] == 0 and 2.5 < draws[2] / draws[1] < 3.5
    no_rep = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False, generator=g))
    assert sorted(no_rep) == [0, 1, 2]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 1, 0], 3, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 2)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, float("nan")], 2)
    with pytest.raises(ValueError, match="1d"):
        WeightedRandomSampler([[1, 2]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1, 2], 0)


# ----- datasets ----------------------------------------------------------------------------


def test_tensor_dataset_indexing_matches_torch(torch):
    import torch.utils.data as tud

    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ours, theirs = (
        TensorDataset(tn.tensor(x), tn.tensor(y)),
        tud.TensorDataset(torch.tensor(x), torch.tensor(y)),
    )
    for index in [slice(None, 8), slice(2, 9, 3), [1, 3, 3], np.array([4, -1]), 5, -2]:
        _same(list(ours[index]), list(theirs[index]), torch)
    assert len(ours[:8][0]) == 8


def test_subset_concat_and_random_split_match_torch(torch):
    import torch.utils.data as tud

    base = list(range(10))

    class L(Dataset):
        def __len__(self):
            return len(base)

        def __getitem__(self, i):
            return base[i]

    sub = Subset(L(), [7, 2, 5])
    assert [sub[i] for i in range(len(sub))] == [7, 2, 5]
    cat, tcat = ConcatDataset([L(), sub]), tud.ConcatDataset([base, tud.Subset(base, [7, 2, 5])])
    assert len(cat) == len(tcat) == 13 and cat.cumulative_sizes == tcat.cumulative_sizes
    assert [cat[i] for i in range(-13, 13)] == [tcat[i] for i in range(-13, 13)]
    assert len(L() + L()) == 20
    with pytest.raises(IndexError):
        cat[13]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    for lengths in [[3, 7], [0.5, 0.5], [0.3, 0.3, 0.4], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34]]:
        parts = random_split(L(), lengths, generator=tn.Generator().manual_seed(0))
        tparts = tud.random_split(base, lengths, generator=torch.Generator().manual_seed(0))
        assert [len(p) for p in parts] == [len(p) for p in tparts]
        assert sorted(i for p in parts for i in (p[k] for k in range(len(p)))) == base
    again = random_split(L(), [3, 7], generator=tn.Generator().manual_seed(0))
    assert again[0].indices.tolist() == random_split(
        L(), [3, 7], generator=tn.Generator().manual_seed(0))[0].indices.tolist()  # fmt: skip
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(L(), [3, 3])
    with pytest.raises(ValueError, match="index 1"):
        random_split(L(), [3, -7])


# ----- DataLoader options --------------------------------------------------------------------

BAD_OPTIONS = [
    dict(shuffle=True, sampler=[0, 1]), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
    dict(persistent_workers=True),
]  # fmt: skip


@pytest.mark.parametrize("kw", BAD_OPTIONS, ids=[",".join(k) for k in BAD_OPTIONS])
def test_conflicting_options_raise_value_error_like_torch(torch, kw):
    import torch.utils.data as tud

    with pytest.raises(ValueError):
        tud.DataLoader(list(range(4)), **kw)
    ds = TensorDataset(tn.arange(4))
    with pytest.raises(ValueError):
        DataLoader(ds, **kw)


def test_loader_batches_match_torch_for_the_same_order(torch):
    import torch.utils.data as tud

    class Generic:
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return {"img": np.full((2, 2), i, np.float32), "label": i, "w": 0.5 * i}, f"id{i}"

    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
               dict(batch_sampler=[[0, 4], [6, 1, 2]]), dict(sampler=[6, 5, 0], batch_size=2),
               dict(batch_size=2, collate_fn=lambda b: len(b))]:  # fmt: skip
        ours, theirs = list(DataLoader(Generic(), **kw)), list(tud.DataLoader(Generic(), **kw))
        assert len(ours) == len(theirs) == len(DataLoader(Generic(), **kw))
        _same(ours, theirs, torch)


def test_loader_uses_a_generator_and_accepts_pin_memory():
    ds = TensorDataset(tn.arange(30))

    def order(**kw):
        return sum((b[0].tolist() for b in DataLoader(ds, batch_size=4, shuffle=True, **kw)), [])

    a = order(generator=tn.Generator().manual_seed(5), pin_memory=True)
    assert sorted(a) == list(range(30)) and a != list(range(30))
    assert a == order(generator=tn.Generator().manual_seed(5))
    with pytest.raises(ValueError, match="seed and generator"):
        DataLoader(ds, shuffle=True, seed=1, generator=tn.Generator())
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator=np.random.default_rng(0))


def test_utils_data_is_the_same_module_surface():
    import tinynet.data as data
    import tinynet.utils.data as udata
    from tinynet.utils.data import DataLoader as DL

    assert DL is DataLoader and tn.utils.data.TensorDataset is TensorDataset
    for name in data.__all__:
        assert getattr(udata, name) is getattr(data, name), name


# ----- worker processes -------------------------------------------------------------------


def _children():
    return [p for p in multiprocessing.active_children() if "DataLoader" in p.name]


class Traced(Dataset):
    """Samples that say which process made them; sample 13 fails when asked to."""

    def __init__(self, n=40, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            return self.explode(i)
        info = get_worker_info()
        return np.full(3, i, np.float32), i, -1 if info is None else info.id

    def explode(self, i):
        raise ValueError(f"sample {i} is corrupt")


@pytest.mark.parametrize(
    "kw",
    [dict(batch_size=4, shuffle=True, seed=0), dict(batch_size=5, drop_last=True),
     dict(batch_size=3, shuffle=True, generator="gen"), dict(batch_size=None),
     dict(batch_size=4, prefetch_factor=3)],
    ids=["seed", "drop_last", "generator", "no-batching", "prefetch3"],
)  # fmt: skip
def test_workers_give_the_same_batches_in_the_same_order(kw):
    def run(workers):
        k = dict(kw)
        if k.get("generator") == "gen":
            k["generator"] = tn.Generator().manual_seed(7)
        if workers == 0:
            k.pop("prefetch_factor", None)
        loader = DataLoader(Traced(), num_workers=workers, **k)
        out = [(_list(x), _list(y)) for x, y, _ in loader]
        return out, len(loader)

    (zero, n0), (two, n2) = run(0), run(2)
    assert zero == two and n0 == n2 == len(zero)
    assert not _children()


def test_tensor_dataset_fast_path_through_workers():
    x, y = tn.randn(50, 3), tn.arange(50)
    a = [
        (b[0].numpy().tolist(), b[1].tolist())
        for b in DataLoader(TensorDataset(x, y), 8, True, seed=2)
    ]
    loader = DataLoader(TensorDataset(x, y), 8, True, seed=2, num_workers=2)
    b = [(b[0].numpy().tolist(), b[1].tolist()) for b in loader]
    assert a == b


def test_workers_really_load_and_get_worker_info():
    seen = set()
    for _, _, wid in DataLoader(Traced(16), batch_size=2, num_workers=2):
        seen.update(wid.tolist())
    assert seen == {0, 1} and get_worker_info() is None


def _init(worker_id):
    info = get_worker_info()
    assert info.id == worker_id and info.num_workers == 3
    np.random.seed(1000 + worker_id)  # overrides the per-worker seed: visible in the draws


class Draws(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return np.random.randint(0, 10**9), get_worker_info().seed


def test_worker_init_fn_runs_in_each_worker_and_seeds_differ():
    batches = list(DataLoader(Draws(), batch_size=2, num_workers=3, worker_init_fn=_init))
    draws = [b[0].tolist()[0] for b in batches]
    expected = [np.random.RandomState(1000 + w).randint(0, 10**9) for w in range(3)]
    assert draws == expected
    seeds = [b[1].tolist()[0] for b in batches]
    assert len(set(seeds)) == 3 and seeds[1] - seeds[0] == 1


def test_a_worker_exception_reaches_the_caller_with_its_traceback():
    loader = DataLoader(Traced(20, fail_at=13), batch_size=4, num_workers=2)
    got = []
    with pytest.raises(ValueError) as info:
        for _, y, _ in loader:
            got.append(y.tolist())
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Traceback" in msg and "in explode" in msg and "sample 13 is corrupt" in msg
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], "earlier batches arrive in order"
    assert not _children(), "the workers stopped"


def test_an_unsendable_batch_is_a_clear_error():
    class Obj(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return object()

    with pytest.raises(TypeError, match="cannot send .*object.*never pickles"):
        list(DataLoader(Obj(), batch_size=2, num_workers=1, collate_fn=lambda b: b))
    assert not _children()


def test_no_worker_is_left_behind():
    it = iter(DataLoader(Traced(), batch_size=2, num_workers=2))
    next(it)
    assert len(_children()) == 2
    del it
    assert not _children()
    for _ in DataLoader(Traced(), batch_size=2, num_workers=2):
        break
    assert not _children()
    loader = DataLoader(Traced(), batch_size=8, num_workers=2, persistent_workers=True)
    pids = [set(p.pid for p in _children())]
    for _ in range(2):
        assert len(list(loader)) == 5
        pids.append(set(p.pid for p in _children()))
    assert pids[1] == pids[2] and len(pids[1]) == 2, "persistent workers serve every epoch"
    del loader
    assert not _children()


def test_iterable_dataset_with_workers():
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [
        [0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]]  # fmt: skip
    got = [b.tolist() for b in DataLoader(Stream(), batch_size=3, num_workers=2)]
    assert sorted(sum(got, [])) == list(range(11)) and got[0] == [0, 2, 4]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)
    chained = DataLoader(ChainDataset([Stream(), Stream()]), batch_size=4)
    assert sum((b.tolist() for b in chained), []) == list(range(11)) * 2
    assert not _children()


def test_timeout_and_a_dying_worker():
    class Slow(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            time.sleep(3)
            return i

    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(DataLoader(Slow(), batch_size=2, num_workers=1, timeout=0.3))
    assert not _children()

    class Dies(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            os._exit(3)

    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), batch_size=2, num_workers=1))
    assert not _children()


SCRIPT = """
import os, signal, sys, time
import numpy as np
from tinynet.data import DataLoader, Dataset

# Ctrl-C as in a terminal, even where the test runner was started with SIGINT ignored (a
# background job inherits SIG_IGN, and Python keeps it)
signal.signal(signal.SIGINT, signal.default_int_handler)

class Slow(Dataset):
    def __len__(self):
        return 1000
    def __getitem__(self, i):
        time.sleep(0.05)
        return np.float32(i)

def record(worker_id):
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()}\\n")

loader = DataLoader(Slow(), batch_size=2, num_workers=2, worker_init_fn=record)
for i, batch in enumerate(loader):
    if i == 1:
        print("ready", flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_a_killed_main_process_leaves_no_orphans(tmp_path, sig):
    pids_file = tmp_path / "pids"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, str(script), str(pids_file)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == b"ready"
        if sig == signal.SIGINT:  # Ctrl-C reaches the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.kill()
        proc.wait(timeout=20)
        if sig == signal.SIGINT:
            assert b"KeyboardInterrupt" in proc.stderr.read()
        pids = [int(p) for p in pids_file.read_text().split()]
        assert len(pids) == 2
        deadline = time.time() + 10
        while any(_alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if _alive(p)], "a worker outlived its main process"
    finally:
        if proc.poll() is None:
            proc.kill()


class Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, 11, step))


def test_persistent_workers_after_a_break_and_for_streams():
    loader = DataLoader(Traced(), batch_size=4, shuffle=True, seed=1, num_workers=2,
                        persistent_workers=True)  # fmt: skip
    plain = DataLoader(Traced(), batch_size=4, shuffle=True, seed=1)
    expected = [[_list(y) for _, y, _ in plain] for _ in range(3)]
    for _ in loader:  # a pass left early: its batches in flight must not leak into the next
        break
    loader.set_epoch(1)
    assert [_list(y) for _, y, _ in loader] == expected[1]
    assert [_list(y) for _, y, _ in loader] == expected[2]
    stream = DataLoader(Stream(), batch_size=3, num_workers=2, persistent_workers=True)
    first, second = [_list(b) for b in stream], [_list(b) for b in stream]
    assert first == second and sorted(sum(first, [])) == list(range(11))
    del loader, stream
    assert not _children()
