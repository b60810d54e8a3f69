"""IMDB-like reviews: Keras' raw format, a ranked vocabulary, sentiment words and negation."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ._common import _DATASET_IDS, SPLITS, Array, _check_sizes, _rng

# Neutral frequent words, most frequent first (the head of the Zipf curve).
_FUNCTION_WORDS = (
    "the and a of to is br in it i this that was as for with movie but film on not you "
    "are his have he be one all at by an they who so from like her or just about "
    "it's out has if some there what more when very even she my would up which "
    "only really see their had can were me than much get been story will no do also "
    "into people other first because how him most don't made then them way make "
    "could too any after movies character think watch films two seen many being "
    "plot never where acting know little life over did does ever your end off here "
    "scene man why scenes show something through back still these say though go "
    "watching actors years thing same real before now director while another new "
    "actually nothing going look old part lot again few cast us quite want things "
    "fact seems around young take thought got both down every series big horror "
    "long gets may whole between without right always saw come role isn't almost "
    "should must least enough original action interesting music own bit done last "
    "guy comedy might far point tv since anything script minutes yet whose am feel"
).split()
_NEGATORS = ("not", "no", "never", "hardly", "didn't", "wasn't", "doesn't", "isn't", "nothing")
_POSITIVE_WORDS = (
    "great good best love excellent well wonderful beautiful loved amazing perfect "
    "brilliant enjoyed favorite fun highly superb fantastic recommend beautifully "
    "masterpiece enjoy liked touching gem delightful powerful moving fascinating "
    "hilarious outstanding terrific charming gorgeous stunning memorable captivating "
    "superbly refreshing brilliantly wonderfully magnificent engaging heartwarming "
    "lovely enjoyable finest classic sweet incredible awesome solid strong tender "
    "inspiring impressive breathtaking flawless masterful compelling riveting witty "
    "clever intelligent thoughtful poignant nuanced genuine exceptional remarkable "
    "rewarding satisfying uplifting joyous splendid marvelous exquisite stellar "
    "unforgettable timeless glorious charismatic believable underrated subtle elegant "
    "tight gripping mesmerizing haunting sublime triumph praise bravo enchanting "
    "dazzling vivid rich smart funniest perfection perfectly loves appreciated"
).split()
_NEGATIVE_WORDS = (
    "bad worst awful boring terrible waste poor horrible stupid dull mess ridiculous "
    "lame disappointing worse annoying pointless badly cheap weak predictable "
    "disappointment unfunny pathetic poorly garbage crap wasted mediocre tedious "
    "painful laughable bland forgettable incoherent pretentious clichéd sloppy "
    "amateurish atrocious dreadful unwatchable insulting lousy miscast overrated "
    "implausible senseless tiresome uninspired uninteresting unconvincing wooden "
    "clumsy confusing redundant shallow silly trite embarrassing excruciating "
    "nonsense obnoxious plodding sluggish stilted unbearable unoriginal vapid "
    "worthless hideous horrid inept lifeless rubbish trash dumb failed fails flat "
    "mindless bore bored sucks sucked disjointed overlong hollow ugly tired lazy "
    "drags dragged cringe ludicrous abysmal appalling dire tacky overacted "
    "underwhelming unpleasant irritating dislike hated hate mediocrity"
).split()
_N_PSEUDO = 24000
_LEAN = 400  # pseudo-words (ranks ~300-3000) that lean positive, and as many negative


_BLOCKED = (
    "nig",
    "fag",
    "cunt",
    "fuck",
    "shit",
    "slut",
    "whor",
    "dick",
    "cock",
    "cum",
    "tit",
    "nazi",
    "kike",
    "spic",
    "chink",
    "gook",
    "coon",
    "rape",
    "kkk",
    "anal",
    "porn",
    "piss",
    "cuck",
    "twat",
    "jiz",
    "homo",
    "dyke",
    "tran",
    "pak",
    "jap",
)


def _pseudo_words(n: int) -> list[str]:
    """Pronounceable made-up words (fixed, seed-independent): the vocabulary's long tail."""
    rng = np.random.default_rng(20240613)
    onset = np.array("b c d f g h j k l m n p r s t v w z br ch cl dr fl gr pl pr sh st th tr".split())
    vowel = np.array("a e i o u a e i o ai ea ou ie".split())
    coda = np.array(["", "", "", "n", "r", "s", "l", "t", "m", "nd", "st", "ck", "x"])
    taken = set(_FUNCTION_WORDS) | set(_NEGATORS) | set(_POSITIVE_WORDS) | set(_NEGATIVE_WORDS)
    words: list[str] = []
    while len(words) < n:
        m = 2 * n
        cand = np.full(m, "", dtype="<U24")
        k = rng.integers(1, 4, m)
        for i in range(3):
            syl = np.char.add(onset[rng.integers(0, len(onset), m)], vowel[rng.integers(0, len(vowel), m)])
            cand = np.where(k > i, np.char.add(cand, syl), cand)
        cand = np.char.add(cand, coda[rng.integers(0, len(coda), m)])
        for w in cand.tolist():
            if len(w) >= 3 and w not in taken and not any(b in w for b in _BLOCKED):
                taken.add(w)
                words.append(w)
    return words[:n]


class _Vocab:
    """The fixed latent vocabulary: ids are positions in `words`."""

    def __init__(self) -> None:
        pseudo = _pseudo_words(_N_PSEUDO)
        neg_only = [w for w in _NEGATORS if w not in _FUNCTION_WORDS]
        self.words = np.array([*_FUNCTION_WORDS, *neg_only, *_POSITIVE_WORDS, *_NEGATIVE_WORDS, *pseudo])
        index = {w: i for i, w in enumerate(self.words.tolist())}
        self.negators = np.array([index[w] for w in _NEGATORS])
        self.positive = np.array([index[w] for w in _POSITIVE_WORDS])
        self.negative = np.array([index[w] for w in _NEGATIVE_WORDS])
        self.filler = np.array([index[w] for w in (*_FUNCTION_WORDS, *pseudo)])
        first = len(self.words) - len(pseudo)
        self.lean_pos = np.arange(first + 300, first + 300 + 2 * _LEAN, 2)
        self.lean_neg = self.lean_pos + 1
        self.filler_p = _zipf(len(self.filler), 1.1, 2.7)
        self.sentiment_p = _zipf(len(self.positive), 1.0, 3.0)
        self.lean_p = _zipf(_LEAN, 0.6, 10.0)


def _zipf(n: int, a: float, shift: float) -> Array:
    w = 1.0 / (np.arange(n) + shift) ** a
    return w / w.sum()


_VOCAB: _Vocab | None = None


def _vocab() -> _Vocab:
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = _Vocab()
    return _VOCAB


_IMDB_LABEL_NOISE = 0.05  # share of reviews whose text argues for the other label


def _review_latent(rng: np.random.Generator, n: int) -> tuple[Array, Array, Array]:
    """One split as latent word ids: (flat tokens, review lengths, int64 labels)."""
    voc = _vocab()
    y = rng.permutation(np.arange(n) % 2).astype(np.int64)  # exactly balanced, no pattern
    lengths = np.clip(np.rint(np.exp(rng.normal(np.log(170.0), 0.55, n))), 50, 400).astype(np.int64)
    polarity = np.where(rng.uniform(0, 1, n) < _IMDB_LABEL_NOISE, 1 - y, y)
    clarity = 0.5 + 0.5 * rng.beta(3.0, 1.0, n)  # P(a sentiment word agrees with the text)
    density = rng.uniform(0.03, 0.09, n)  # share of sentiment words
    rev = np.repeat(np.arange(n), lengths)
    tokens = voc.filler[rng.choice(len(voc.filler), rev.size, p=voc.filler_p)]
    u = rng.uniform(0, 1, rev.size)
    first = np.zeros(rev.size, bool)
    first[np.cumsum(lengths)[:-1]] = True
    first[:1] = True
    senti = np.flatnonzero((u < density[rev]) & ~first)
    positive = (polarity[rev[senti]] == 1) == (rng.uniform(0, 1, senti.size) < clarity[rev[senti]])
    negated = rng.uniform(0, 1, senti.size) < 0.15  # "not great" in a negative review
    word = rng.choice(len(voc.positive), senti.size, p=voc.sentiment_p)
    negator = voc.negators[rng.integers(0, len(voc.negators), negated.sum())]
    lean = np.flatnonzero((u >= density[rev]) & (u < density[rev] + 0.04))
    agree = (polarity[rev[lean]] == 1) == (rng.uniform(0, 1, lean.size) < 0.75)
    pick = rng.choice(_LEAN, lean.size, p=voc.lean_p)
    tokens[lean] = np.where(agree, voc.lean_pos[pick], voc.lean_neg[pick])
    tokens[senti] = np.where(positive ^ negated, voc.positive[word], voc.negative[word])
    _verdicts(rng, tokens, lengths, polarity)
    tokens[senti[negated] - 1] = negator  # last, so nothing overwrites a negation
    return tokens, lengths, y


_OPENING, _CLOSING = 0.6, 0.75  # shares of reviews that open / close with a verdict


def _verdicts(rng: np.random.Generator, tokens: Array, lengths: Array, polarity: Array) -> None:
    """Opening and closing verdicts ("A wonderful film ... Highly recommended"), in place.

    Real reviews state their opinion most plainly in their first and last
    sentences, where a recurrent model reading a padded or truncated review
    finds it first: 1-3 sentiment words among the first and the last ten
    tokens of most reviews, agreeing with the review's text.
    """
    voc = _vocab()
    n = len(lengths)
    starts = np.cumsum(lengths) - lengths
    for share, closing in ((_OPENING, False), (_CLOSING, True)):
        count = np.where(rng.uniform(0, 1, n) < share, rng.integers(1, 4, n), 0)
        rev = np.repeat(np.arange(n), count)
        offset = rng.integers(1, 10, rev.size)
        at = starts[rev] + (lengths[rev] - offset if closing else offset)
        word = rng.choice(len(voc.positive), rev.size, p=voc.sentiment_p)
        tokens[at] = np.where(polarity[rev] == 1, voc.positive[word], voc.negative[word])


def _as_object_array(seqs: list[list[int]]) -> Array:
    """A 1-D object array of python lists (np.array would make equal lengths 2-D)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def _split_lists(flat: Array, lengths: Array) -> list[list[int]]:
    return [part.tolist() for part in np.split(flat, np.cumsum(lengths)[:-1])] if len(lengths) else []


def review_sequences(
    *, n_train: int = 25000, n_test: int = 25000, n_holdout: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """IMDB stand-in in the format of ``keras.datasets.imdb.load_data()`` (default args).

    ``x_*``: 1-D object arrays of python lists of ints; each review starts with
    start_char 1 and a word of rank r (in ``word_index``) appears as r + 3
    (index_from=3); there is no OOV (2) in this raw form: apply ``num_words``
    and friends with ``apply_load_args``. ``y_*``: int64 0/1, balanced.
    ``word_index``: {word: rank}, rank 1 = most frequent in train + test.
    Reviews are 50-400 tokens of Zipf-distributed filler mixed with real
    sentiment words, negations ("not great" in a negative review), words that
    only lean to one side, mixed reviews and 5 % label noise.
    """
    _check_sizes(n_train=n_train, n_test=n_test, n_holdout=n_holdout)
    voc = _vocab()
    sizes = {"train": n_train, "test": n_test, "holdout": n_holdout}
    latent = {s: _review_latent(_rng(seed, _DATASET_IDS["reviews"], SPLITS.index(s)), n) for s, n in sizes.items()}
    counts = np.bincount(np.concatenate([latent["train"][0], latent["test"][0]]), minlength=len(voc.words))
    order = np.lexsort((np.arange(len(voc.words)), -counts))  # by frequency, ties by id
    rank = np.empty(len(voc.words), np.int64)
    rank[order] = np.arange(1, len(voc.words) + 1)
    out: dict[str, Any] = {"word_index": {w: i + 1 for i, w in enumerate(voc.words[order].tolist())}}
    for split, (tokens, lengths, y) in latent.items():
        starts = np.cumsum(lengths + 1) - (lengths + 1)
        flat = np.empty(tokens.size + len(lengths), np.int64)
        mask = np.ones(flat.size, bool)
        mask[starts] = False
        flat[starts] = 1
        flat[mask] = rank[tokens] + 3
        out[f"x_{split}"] = _as_object_array(_split_lists(flat, lengths + 1))
        out[f"y_{split}"] = y
    return out


def _flatten(seqs: Any) -> tuple[Array, Array]:
    """Ragged sequences -> (flat int64 values, int64 lengths)."""
    lengths = np.fromiter((len(x) for x in seqs), np.int64, len(seqs))
    flat = np.fromiter(itertools.chain.from_iterable(seqs), np.int64, int(lengths.sum()))
    return flat, lengths


def _raw_ranks(seqs: Any, split: str) -> tuple[Array, Array]:
    """``review_sequences()`` sequences -> word ranks without the start character."""
    flat, lengths = _flatten(seqs)
    starts = np.cumsum(lengths) - lengths
    if np.any(lengths < 1) or np.any(flat[starts] != 1) or np.any(np.delete(flat, starts) < 4):
        raise ValueError(f"x_{split} is not in review_sequences()'s raw form (start_char=1, index_from=3, no OOV)")
    return np.delete(flat, starts) - 3, lengths - 1


def apply_load_args(
    data: dict[str, Any],
    *,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> dict[str, Any]:
    """Apply ``keras.datasets.imdb.load_data``'s arguments to ``review_sequences()`` output.

    Follows keras 3's ``load_data`` code, quirks included (except its seeded
    shuffle: ``review_sequences()`` is already in random order): ``maxlen`` drops (does not
    truncate) every review whose length, start character included, is >=
    maxlen, and raises ValueError if train or test ends up empty; with
    ``num_words=None`` the cut is the largest index in train + test (so that
    index becomes ``oov_char``); ``skip_top`` and ``num_words`` compare the
    shifted indices, start character included; ``oov_char=None`` deletes
    instead of replacing. A holdout split, if present, gets the same treatment
    with the train + test cut. Unlike keras the ``x_*`` arrays are always 1-D
    object arrays. ``word_index`` is passed through unchanged.
    """
    splits = [s for s in SPLITS if f"x_{s}" in data]
    seqs: dict[str, tuple[Array, Array, Array]] = {}
    for s in splits:
        raw, lengths = _raw_ranks(data[f"x_{s}"], s)
        flat = raw + index_from
        if start_char is not None:
            starts = np.cumsum(lengths) - lengths
            flat, lengths = np.insert(flat, starts, start_char), lengths + 1
        labels = np.asarray(data[f"y_{s}"])
        if maxlen:
            keep = lengths < maxlen
            flat, lengths, labels = flat[np.repeat(keep, lengths)], lengths[keep], labels[keep]
        seqs[s] = (flat, lengths, labels)
    if maxlen and any(seqs[s][1].size == 0 for s in ("train", "test") if s in seqs):
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase maxlen."
        )
    if not num_words:
        public = [seqs[s][0] for s in splits if s != "holdout"] or [seqs[s][0] for s in splits]
        num_words = int(np.concatenate(public).max())
    out: dict[str, Any] = {k: v for k, v in data.items() if k == "word_index"}
    for s, (flat, lengths, labels) in seqs.items():
        inside = (flat >= skip_top) & (flat < num_words)
        if oov_char is not None:
            flat = np.where(inside, flat, oov_char)
        else:
            review = np.repeat(np.arange(lengths.size), lengths)
            flat, lengths = flat[inside], np.bincount(review[inside], minlength=lengths.size)
        out[f"x_{s}"], out[f"y_{s}"] = _as_object_array(_split_lists(flat, lengths)), labels
    return out


def review_texts(
    *, n: int = 50000, n_holdout: int = 2000, seed: int = 0, holdout: bool = False, data: dict[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """The Kaggle "IMDB Dataset.csv" form (review, sentiment) of the same reviews.

    Decodes ``review_sequences(n_train=n // 2, n_test=n - n // 2, n_holdout=n_holdout,
    seed=seed)`` to text: train then test reviews (or the holdout reviews with
    ``holdout=True``), sentences capitalised and ended with a full stop, the
    ``br`` token written as ``<br /><br />``. Sentiments are "positive" or
    "negative". Lower-casing, reading "<br /><br />" as "br" and splitting on
    anything but word characters and apostrophes gives back each review's words.
    ``data``: that ``review_sequences()`` output when the caller already has it
    (generating 50 000 reviews twice is slow).
    """
    if data is None:
        data = review_sequences(n_train=n // 2, n_test=n - n // 2, n_holdout=n_holdout, seed=seed)
    words = np.empty(len(data["word_index"]) + 4, dtype=object)
    for w, r in data["word_index"].items():
        words[r + 3] = w
    words[words == "i"] = "I"
    rng = _rng(seed, _DATASET_IDS["reviews"], 99)
    splits = ("holdout",) if holdout else ("train", "test")
    texts: list[str] = []
    sentiments: list[str] = []
    for split in splits:
        raw, lengths = _raw_ranks(data[f"x_{split}"], split)
        toks, br = words[raw + 3], raw == data["word_index"]["br"]
        starts = np.cumsum(lengths) - lengths
        stop = rng.uniform(0, 1, toks.size) < 1 / 12
        stop[starts[1:] - 1] = True  # every review ends a sentence
        stop[-1:] = True
        stop &= ~br
        caps = np.zeros(toks.size, bool)
        caps[starts] = True
        caps[1:] |= stop[:-1]
        for _ in range(2):  # a sentence that opens with <br /> capitalises its first word
            caps[1:] |= caps[:-1] & br[:-1]
        caps &= ~br
        toks[caps] = [t[:1].upper() + t[1:] for t in toks[caps]]
        toks[stop] = [t + "." for t in toks[stop]]
        toks[br] = "<br /><br />"
        texts += [" ".join(part) for part in np.split(toks, starts[1:]).__iter__()]
        sentiments += ["positive" if y == 1 else "negative" for y in data[f"y_{split}"]]
    return texts, sentiments
