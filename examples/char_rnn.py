"""A character-level language model: it reads the Jargon File (Eric S. Raymond's public-domain
lexicon of hacker slang, 1.6 million characters) and learns to predict each next character.

    characters (N, T) -> Embedding(V, 32) -> LSTM(32, 256) -> Linear(256, V) -> scores of the next one

The loss is the cross-entropy of the next character, reported in bits per character. The yardstick
is the text's unigram entropy (about 4.7 bits): what a model that knows only how often each
character occurs would pay. Anything well below it has learned spelling, words and punctuation,
and the samples it writes, one character at a time, show it.

Training is truncated backpropagation through time, as in PyTorch's word_language_model example:
the text is cut into ``batch_size`` long rows read side by side, ``seq_len`` characters at a time;
the LSTM's state is carried from one chunk to the next (so it can remember across chunks) but
detached, so gradients flow back only ``seq_len`` steps. The last 5% of the text is held out.

The text comes from Debian's jargon-text package (apt install jargon-text), $CHAINRULE_DATA/jargon
or root=DIR; see chainrule.datasets.JargonFile.

Run:  python examples/char_rnn.py
"""

import math
import time

import numpy as np

import chainrule as cr
from chainrule import datasets, nn, optim


class CharModel(nn.Module):
    """(N, T) int64 characters, state -> (N, T, V) next-character scores, new state."""

    def __init__(self, vocab_size, embedding_dim=32, hidden_size=256, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, codes, state=None):
        output, state = self.lstm(self.embed(codes), state)  # (N, T, H)
        return self.head(output), state


def rows(codes, batch_size):
    """The text's codes (L,) -> (batch_size, L // batch_size): row b is the b-th stretch of text."""
    length = len(codes) // batch_size
    return codes[: length * batch_size].reshape(batch_size, length)


def detach(state):
    """The LSTM's (h, c) without their history: the next chunk starts from their values only."""
    return tuple(s.detach() for s in state)


def mean_loss(model, loss_fn, codes, seq_len, batch_size=16):
    """Mean cross-entropy (nats per character) of predicting each next character of ``codes``."""
    model.eval()
    batch_size = max(1, min(batch_size, len(codes) // 2))  # a short text: fewer, still 2-character rows
    stream, state, total, count = rows(codes, batch_size), None, 0.0, 0
    with cr.no_grad():
        for start in range(0, stream.shape[1] - 1, seq_len):
            x = cr.tensor(stream[:, start : start + seq_len])
            y = cr.tensor(stream[:, start + 1 : start + 1 + seq_len])
            x = x[:, : y.shape[1]]
            scores, state = model(x, state)
            total += loss_fn(scores.reshape(-1, scores.shape[-1]), y.reshape(-1)).item() * y.numel()
            count += y.numel()
    model.train()
    return total / count


def sample(model, corpus, prompt="hacker", length=200, temperature=0.8, seed=0):
    """Text the model writes after ``prompt``, drawing each character from its predicted
    distribution sharpened by ``temperature`` (< 1: safer choices)."""
    rng = np.random.default_rng(seed)
    model.eval()
    out = []
    with cr.no_grad():
        scores, state = model(cr.tensor(corpus.encode(prompt)[None]))  # read the prompt
        for _ in range(length):
            logits = scores[0, -1].numpy().astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            code = int(rng.choice(len(p), p=p / p.sum()))
            out.append(code)
            scores, state = model(cr.tensor(np.array([[code]], dtype=np.int64)), state)
    model.train()
    return prompt + corpus.decode(out)


def main(steps=2000, batch_size=32, seq_len=64, hidden_size=256, lr=3e-3, clip=1.0, corpus=None, root=None,
         sample_every=500, sample_length=200, validation_chars=None, seed=0):  # fmt: skip
    """Train for ``steps`` chunks; returns {"train_bits", "validation_bits", "unigram_bits",
    "samples", "seconds", "model", "corpus"} (losses in bits per character). ``corpus``: a TextCorpus to use
    instead of the Jargon File; ``validation_chars``: measure on that many held-out characters
    only (default: all of them)."""
    cr.manual_seed(seed)
    corpus = corpus if corpus is not None else datasets.JargonFile(root=root)
    split = int(len(corpus.codes) * 0.95)
    train_codes, held_out = corpus.codes[:split], corpus.codes[split:][:validation_chars]
    unigram = corpus.unigram_entropy(base=2)
    print(f"{corpus}: {split:,} characters to learn from, unigram entropy {unigram:.3f} bits/char", flush=True)

    model = CharModel(corpus.vocab_size, hidden_size=hidden_size)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    stream = rows(train_codes, batch_size)
    chunks = (stream.shape[1] - 1) // seq_len  # chunks per pass over the text

    samples, state, running, start = [], None, [], time.perf_counter()
    for step in range(1, steps + 1):
        offset = ((step - 1) % chunks) * seq_len
        if offset == 0:
            state = None  # a new pass over the text starts from a blank state
        x = cr.tensor(stream[:, offset : offset + seq_len])  # (N, T)
        y = cr.tensor(stream[:, offset + 1 : offset + 1 + seq_len])  # each character's successor
        scores, state = model(x, state)
        state = detach(state)
        loss = loss_fn(scores.reshape(-1, corpus.vocab_size), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        schedule.step()
        running.append(loss.item())
        if step % sample_every == 0 or step == steps:
            bits = np.mean(running[-sample_every:]) / math.log(2)
            text = sample(model, corpus, length=sample_length, seed=step)
            samples.append(text)
            elapsed = time.perf_counter() - start
            print(f"step {step}/{steps}  loss {bits:.3f} bits/char  {elapsed:.0f} s", flush=True)
            print("  | " + text.replace("\n", "\n  | "), flush=True)
    seconds = time.perf_counter() - start
    train_bits = float(np.mean(running[-max(1, steps // 10) :]) / math.log(2))
    validation_bits = mean_loss(model, loss_fn, held_out, seq_len) / math.log(2)
    print(
        f"held-out text: {validation_bits:.3f} bits/char (training {train_bits:.3f}) against the unigram entropy "
        f"{unigram:.3f} bits/char; {steps * batch_size * seq_len:,} characters read in {seconds:.0f} s",
        flush=True,
    )
    return {
        "train_bits": train_bits,
        "validation_bits": validation_bits,
        "unigram_bits": unigram,
        "samples": samples,
        "seconds": seconds,
        "model": model,
        "corpus": corpus,
    }


if __name__ == "__main__":
    main()
