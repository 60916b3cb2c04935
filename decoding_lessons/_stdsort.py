"""libstdc++'s ``std::sort`` and ``std::partial_sort``, step for step, on parallel lists (``K`` the
keys, ``I`` what moves with them), with the comparator ``K[a] < K[b]``.

An unstable sort leaves tied keys in an order that only its exact sequence of comparisons and
swaps decides. llama.cpp sorts its candidate arrays with these (``llama_token_data_array_partial_sort``:
``std::sort`` per bucket, ``std::partial_sort`` for the top 128 or fewer), so this module is what
lets :mod:`.llama_cpp` pick the same one of several exactly tied tokens as llama.cpp does. The same
algorithms, in JavaScript, are ``stdSort`` and ``partialSort`` in ``docs/javascripts/engine.mjs``.

When no two keys tie, a sort's result is unique, so :func:`std_sort` and :func:`partial_sort`
return numpy's (the same permutation, much faster); only ranges with ties are simulated.
"""

from __future__ import annotations

import numpy as np

_THRESHOLD = 16  # _S_threshold


def _move_median_to_first(K, I, r, a, b, c):
    if K[a] < K[b]:
        if K[b] < K[c]:
            s = b
        elif K[a] < K[c]:
            s = c
        else:
            s = a
    elif K[a] < K[c]:
        s = a
    elif K[b] < K[c]:
        s = c
    else:
        s = b
    K[r], K[s] = K[s], K[r]
    I[r], I[s] = I[s], I[r]


def _unguarded_partition(K, I, first, last, pivot):
    pk = K[pivot]
    while True:
        while K[first] < pk:
            first += 1
        last -= 1
        while pk < K[last]:
            last -= 1
        if not first < last:
            return first
        K[first], K[last] = K[last], K[first]
        I[first], I[last] = I[last], I[first]
        first += 1


def _adjust_heap(K, I, f, hole, length, vk, vi):
    top = hole
    second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if K[f + second] < K[f + second - 1]:
            second -= 1
        K[f + hole] = K[f + second]
        I[f + hole] = I[f + second]
        hole = second
    if length & 1 == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        K[f + hole] = K[f + second - 1]
        I[f + hole] = I[f + second - 1]
        hole = second - 1
    parent = (hole - 1) // 2 if hole > 0 else 0
    while hole > top and K[f + parent] < vk:
        K[f + hole] = K[f + parent]
        I[f + hole] = I[f + parent]
        hole = parent
        parent = (hole - 1) // 2 if hole > 0 else 0
    K[f + hole] = vk
    I[f + hole] = vi


def _make_heap(K, I, f, length):
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(K, I, f, parent, length, K[f + parent], I[f + parent])
        if parent == 0:
            return
        parent -= 1


def _pop_heap(K, I, f, length, result):
    vk, vi = K[result], I[result]
    K[result], I[result] = K[f], I[f]
    _adjust_heap(K, I, f, 0, length, vk, vi)


def _heap_select(K, I, first, middle, last):
    _make_heap(K, I, first, middle - first)
    for i in range(middle, last):
        if K[i] < K[first]:
            _pop_heap(K, I, first, middle - first, i)


def _sort_heap(K, I, first, last):
    while last - first > 1:
        last -= 1
        _pop_heap(K, I, first, last - first, last)


def _partial_sort(K, I, first, middle, last):
    _heap_select(K, I, first, middle, last)
    _sort_heap(K, I, first, middle)


def _unguarded_linear_insert(K, I, last):
    vk, vi = K[last], I[last]
    nxt = last - 1
    while vk < K[nxt]:
        K[last], I[last] = K[nxt], I[nxt]
        last = nxt
        nxt -= 1
    K[last], I[last] = vk, vi


def _insertion_sort(K, I, first, last):
    if first == last:
        return
    for i in range(first + 1, last):
        if K[i] < K[first]:
            vk, vi = K[i], I[i]
            K[first + 1 : i + 1] = K[first:i]
            I[first + 1 : i + 1] = I[first:i]
            K[first], I[first] = vk, vi
        else:
            _unguarded_linear_insert(K, I, i)


def _introsort_loop(K, I, first, last, depth):
    while last - first > _THRESHOLD:
        if depth == 0:
            _partial_sort(K, I, first, last, last)
            return
        depth -= 1
        mid = first + (last - first) // 2
        _move_median_to_first(K, I, first, first + 1, mid, last - 1)
        cut = _unguarded_partition(K, I, first + 1, last, first)
        _introsort_loop(K, I, cut, last, depth)
        last = cut


def _lg(n: int) -> int:
    return n.bit_length() - 1


def _has_ties(keys: np.ndarray) -> bool:
    s = np.sort(keys)
    return bool(np.any(s[1:] == s[:-1])) or bool(np.isnan(keys).any())


def std_sort(keys: np.ndarray) -> np.ndarray:
    """The permutation ``std::sort`` leaves on ``keys`` (ascending, ``a < b``): ``keys[perm]`` sorted."""
    n = keys.size
    if n < 2 or not _has_ties(keys):
        return np.argsort(keys, kind="stable")
    K, I = keys.tolist(), list(range(n))
    _introsort_loop(K, I, 0, n, 2 * _lg(n))
    if n > _THRESHOLD:
        _insertion_sort(K, I, 0, _THRESHOLD)
        for i in range(_THRESHOLD, n):
            _unguarded_linear_insert(K, I, i)
    else:
        _insertion_sort(K, I, 0, n)
    return np.asarray(I, dtype=np.int64)


def partial_sort(keys: np.ndarray, middle: int) -> np.ndarray:
    """The first ``middle`` positions of ``std::partial_sort(first, first + middle, last)`` on ``keys``."""
    n = keys.size
    middle = min(middle, n)
    if middle <= 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    # unique when no tie touches the selected prefix (within it, or across its edge)
    top = keys[order[: min(middle + 1, n)]]
    if not (np.any(top[1:] == top[:-1]) or np.isnan(keys).any()):
        return order[:middle]
    K, I = keys.tolist(), list(range(n))
    _partial_sort(K, I, 0, middle, n)
    return np.asarray(I[:middle], dtype=np.int64)
