"""LoRA training of the ``bt``, ``qa`` and ``describe`` adapters on the bundled base model, on a
small CPU.

Reproducible: every random choice (data, LoRA initialisation, dropout, batch order) follows
the config's seeds, and the config is a YAML file committed beside the code
(``llm_mars/training/configs/``) and copied into the adapter folder as ``train.yaml``.

What is trained: each example is the chat ``[system, user, assistant]`` rendered with the
model's chat template, exactly as inference builds it (the adapter's own short system prompt,
the user text of :mod:`llm_mars.llm.prompts`), and the loss covers the assistant tokens only
(the answer and the ``<|im_end|>`` that stops generation). Prompt and answer are tokenised
separately and concatenated, which is how the model sees them when it generates.

Cost: on two shared CPU cores a training step is the whole budget, so sequences are kept
short (a one-line system prompt instead of the catalogue), batches hold examples of similar
length (little padding), and ``max_minutes`` stops training at a deadline and saves what was
learnt, recording that it stopped early; the learning rate decays along the steps or the
budget, whichever runs out first (so a run that the budget stops depends on the CPU's speed,
not only on the seeds). Throughput is logged as it goes.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_mars.errors import AdapterTooLargeError, TrainingConfigError
from llm_mars.llm.requests import ADAPTER_NAMES, DESCRIBE

MAX_ADAPTER_BYTES = 20_000_000  # two rank-16 seeds averaged, in bfloat16
TRAIN_CONFIG_FILE = "train.yaml"
STATS_FILE = "train_stats.json"
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = TARGET_MODULES


@dataclass(frozen=True)
class TrainSettings:
    epochs: float = 1.0
    batch_size: int = 8
    learning_rate: float = 1e-3
    warmup_steps: int = 20
    weight_decay: float = 0.0
    max_length: int = 384
    dtype: str = "float32"  # "float32" or "bfloat16" (autocast, fp32 master weights)
    threads: int = 2
    max_minutes: float = 45.0
    save_dtype: str = "bfloat16"
    log_every: int = 10
    save_every: int = 50
    decision_weight: float = 1.0  # loss weight of the token that decides plan vs reply (bt)


@dataclass(frozen=True)
class TrainConfig:
    """``seeds``: one training per seed (the YAML's ``seed``, or ``seeds`` for several); with
    several, the adapter is the average of their weight changes (:mod:`.soup`), each trained
    with the same data and settings, ``max_minutes`` each."""

    adapter: str  # one of ADAPTER_NAMES
    seeds: tuple[int, ...]
    system_prompt: str
    data: dict[str, Any]
    lora: LoraSettings = field(default_factory=LoraSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    source: str = ""

    @property
    def seed(self) -> int:
        """The seed of a single training."""
        if len(self.seeds) != 1:
            raise ValueError(f"{self.source or 'this config'} trains {len(self.seeds)} seeds")
        return self.seeds[0]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        seeds = data.pop("seeds")
        data = {"adapter": data.pop("adapter"),
                **({"seed": seeds[0]} if len(seeds) == 1 else {"seeds": list(seeds)}), **data}
        data["lora"]["target_modules"] = list(self.lora.target_modules)
        return data


def _settings(cls, raw: Any, where: str):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise TrainingConfigError(where, "must be a mapping")
    known = {f for f in cls.__dataclass_fields__}
    unknown = set(raw) - known
    if unknown:
        raise TrainingConfigError(where, f"unknown keys {sorted(unknown)}")
    values = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TrainingConfigError(f"{where}.{key}", "must be a list of names")
            value = tuple(value)
        elif isinstance(default, bool) or not isinstance(value, type(default)) and not (
                isinstance(default, float) and isinstance(value, int)):
            raise TrainingConfigError(f"{where}.{key}",
                                      f"must be {type(default).__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def load_config(path: str | Path) -> TrainConfig:
    """Read and check a training YAML; raise :class:`TrainingConfigError` naming the key."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainingConfigError(str(path), f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise TrainingConfigError(str(path), f"is not YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise TrainingConfigError(str(path), "must hold a mapping")
    known = {"adapter", "seed", "seeds", "system_prompt", "data", "lora", "train"}
    if set(raw) - known:
        raise TrainingConfigError(str(path), f"unknown keys {sorted(set(raw) - known)}")
    if raw.get("adapter") not in ADAPTER_NAMES:
        raise TrainingConfigError(f"{path}:adapter", f"must be one of {ADAPTER_NAMES}")
    if ("seed" in raw) == ("seeds" in raw):
        raise TrainingConfigError(f"{path}:seed", "give either seed (one training) or seeds "
                                                  "(several, averaged)")
    if "seed" in raw and (not isinstance(raw["seed"], int) or isinstance(raw["seed"], bool)):
        raise TrainingConfigError(f"{path}:seed", "must be an integer")
    seeds = (raw["seed"],) if "seed" in raw else raw["seeds"]
    if "seeds" in raw and (not isinstance(seeds, list) or not all(type(n) is int for n in seeds)
                           or len(seeds) < 2 or len(set(seeds)) != len(seeds)):
        raise TrainingConfigError(f"{path}:seeds", "must be a list of at least two different "
                                                   "integers")
    if not isinstance(raw.get("system_prompt"), str) or not raw["system_prompt"].strip():
        raise TrainingConfigError(f"{path}:system_prompt", "must be a non-empty string")
    if not isinstance(raw.get("data"), dict):
        raise TrainingConfigError(f"{path}:data", "must be a mapping")
    config = TrainConfig(raw["adapter"], tuple(seeds), raw["system_prompt"].strip(), raw["data"],
                         _settings(LoraSettings, raw.get("lora"), f"{path}:lora"),
                         _settings(TrainSettings, raw.get("train"), f"{path}:train"), str(path))
    t = config.train
    checks = [
        (config.lora.r >= 1, "lora.r", "must be >= 1"),
        (t.batch_size >= 1, "train.batch_size", "must be >= 1"),
        (t.epochs > 0, "train.epochs", "must be > 0"),
        (t.learning_rate > 0, "train.learning_rate", "must be > 0"),
        (t.dtype in ("float32", "bfloat16"), "train.dtype", "must be float32 or bfloat16"),
        (t.save_dtype in ("float32", "bfloat16"), "train.save_dtype",
         "must be float32 or bfloat16"),
        (t.max_minutes > 0, "train.max_minutes", "must be > 0"),
        (t.threads >= 1, "train.threads", "must be >= 1"),
    ]
    for ok, key, problem in checks:
        if not ok:
            raise TrainingConfigError(f"{path}:{key}", problem)
    return config


def default_config_path(adapter: str) -> Path:
    return CONFIG_DIR / f"{adapter}.yaml"


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One training conversation: the user text and the assistant text. ``keep`` > 0 trains
    only on the first ``keep`` answer tokens (no end of turn): the bt data's plan-or-reply
    decision examples, which teach that first choice at a fraction of the cost of a plan."""

    user: str
    answer: str
    keep: int = 0


def training_pairs(config: TrainConfig, decision_tokens: int = 2) -> list[Pair]:
    """The pairs of the config's data section (bt: ``examples`` full plans or replies, plus
    ``decision_examples`` other commands cut after their first ``decision_tokens`` tokens;
    qa: ``examples`` questions with the state query each means; describe: the bt data
    reversed, ``examples`` plans each with its command)."""
    from llm_mars.llm.prompts import bt_messages, describe_messages

    data = dict(config.data)
    if config.adapter == DESCRIBE:
        from llm_mars.training.plan_data import generate_plan_examples

        examples = generate_plan_examples(int(data["examples"]), int(data["seed"]), 0.0)
        return [Pair(describe_messages(e.output)[-1]["content"], e.command) for e in examples]
    if config.adapter == "bt":
        from llm_mars.training.plan_data import generate_plan_examples

        share = float(data.get("reply_share", 0.12))
        corrections = float(data.get("correction_share", 0.0))
        forms = float(data.get("step_forms", 0.0))
        ellipsis = float(data.get("ellipsis", 0.0))
        rest = float(data.get("rest_forms", 0.0))
        examples = generate_plan_examples(int(data["examples"]), int(data["seed"]), share,
                                          correction_share=corrections, step_forms=forms,
                                          ellipsis=ellipsis, rest_forms=rest)
        pairs = [Pair(bt_messages(e.command)[-1]["content"], e.output) for e in examples]
        extra = int(data.get("decision_examples", 0))
        if extra:
            seen = {e.command.lower() for e in examples}
            more = generate_plan_examples(extra, int(data["decision_seed"]), share, exclude=seen,
                                          correction_share=corrections, step_forms=forms,
                                          ellipsis=ellipsis, rest_forms=rest)
            pairs += [Pair(bt_messages(e.command)[-1]["content"], e.output, decision_tokens)
                      for e in more]
        return pairs
    from llm_mars.training.query_data import generate_query_examples, query_user_text

    examples = generate_query_examples(int(data["examples"]), int(data["seed"]),
                                       unknown_shapes=bool(data.get("unknown_shapes", False)))
    return [Pair(query_user_text(e.question, e.previous), e.query) for e in examples]


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    prompt_len: int  # tokens before the assistant's answer (no loss on them)


def decision_offset(tokenizer) -> int:
    """Index, within the answer, of the first token where a plan and a reply differ
    (``<`` is shared; the next token says ``root`` or ``reply``)."""
    from llm_mars.bt.model import Reply
    from llm_mars.bt.serializer import serialize_plan, serialize_reply
    from llm_mars.llm.prompts import EXAMPLE_PLAN

    plan = tokenizer(serialize_plan(EXAMPLE_PLAN), add_special_tokens=False)["input_ids"]
    reply = tokenizer(serialize_reply(Reply("no")), add_special_tokens=False)["input_ids"]
    return next(i for i, (a, b) in enumerate(zip(plan, reply)) if a != b)


def encode_pair(tokenizer, system_prompt: str, user_text: str, answer: str,
                keep: int = 0) -> Encoded:
    """Prompt (chat template up to the assistant header) + answer + end-of-turn token; with
    ``keep`` > 0 only the first ``keep`` answer tokens."""
    from llm_mars.llm.adapter_meta import chat_messages

    prompt = tokenizer.apply_chat_template(chat_messages(system_prompt, user_text),
                                           tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    answer_ids = answer_ids[:keep] if keep else answer_ids + [tokenizer.eos_token_id]
    return Encoded(prompt_ids + answer_ids, len(prompt_ids))


def length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (little padding), in a seeded random order.

    Examples are shuffled, sorted by length within windows of 50 batches, cut into batches,
    and the batches shuffled, so each batch is homogeneous but the order is not by length.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(batch: list[Encoded], pad_id: int, decision: int | None = None,
            decision_weight: float = 1.0):
    """Right-padded ids, attention mask, labels (-100 outside the answers) and per-token loss
    weights (1, or ``decision_weight`` at answer offset ``decision``)."""
    import torch

    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    weights = torch.zeros((len(batch), width), dtype=torch.float32)
    for row, e in enumerate(batch):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        mask[row, :n] = 1
        labels[row, e.prompt_len:n] = torch.tensor(e.ids[e.prompt_len:])
        weights[row, e.prompt_len:n] = 1.0
        if decision is not None and e.prompt_len + decision < n:
            weights[row, e.prompt_len + decision] = decision_weight
    return ids, mask, labels, weights


def answer_loss(causal_lm, ids, mask, labels, weights):
    """Weighted cross-entropy over the answer tokens only. The output layer runs on those
    positions alone (most of a qa sequence is prompt), which saves a fifth of the compute."""
    import torch.nn.functional as F

    hidden = causal_lm.model(input_ids=ids, attention_mask=mask).last_hidden_state
    target, w = labels[:, 1:], weights[:, 1:]
    chosen = target != -100
    logits = causal_lm.lm_head(hidden[:, :-1][chosen]).float()
    loss = F.cross_entropy(logits, target[chosen], reduction="none")
    return (loss * w[chosen]).sum() / w[chosen].sum()


# --- training -------------------------------------------------------------------------------


@dataclass
class TrainStats:
    examples: int
    dropped_too_long: int
    steps_planned: int
    steps_done: int = 0
    seconds: float = 0.0
    tokens: int = 0
    answer_tokens: int = 0
    stopped_early: bool = False
    first_loss: float | None = None
    final_loss: float | None = None  # mean of the last log window
    mean_tokens_per_example: float = 0.0
    trained_on: str = ""  # the CPU (its name, cores and the flags speed depends on)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def _lr_at(step: int, total: int, warmup: int, peak: float, time_spent: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10 % of the peak, along the steps or along the time
    budget (``time_spent``: its share used), whichever is further on: a run that the budget
    stops still ends with the rate decayed, not at a quarter of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = max((step - warmup) / max(1, total - warmup), time_spent)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_adapter(config: TrainConfig, out_dir: str | Path, model: str | None = None,
                  log: Callable[[str], None] = print) -> list[TrainStats]:
    """Train the adapter described by ``config`` and save it (PEFT folder + metadata) to
    ``out_dir``; returns what happened, one entry per seed. With several seeds, each is
    trained in turn (in a folder beside ``out_dir``, removed afterwards) and the adapter
    saved is their average."""
    if len(config.seeds) == 1:
        return [train_one(config, out_dir, model, log)]
    return train_averaged(config, Path(out_dir), lambda c, o: train_one(c, o, model, log), log)


def train_averaged(config: TrainConfig, out: Path,
                   train: Callable[[TrainConfig, Path], TrainStats],
                   log: Callable[[str], None] = print) -> list[TrainStats]:
    """``train`` (config, folder) once per seed of ``config``, then the members' average saved
    to ``out`` with ``config`` as its ``train.yaml`` and every member's stats."""
    from llm_mars.training.soup import average_adapters

    members = out.parent / f".members-{out.name}"
    shutil.rmtree(members, ignore_errors=True)
    stats = []
    for seed in config.seeds:
        log(f"training seed {seed} ({len(stats) + 1} of {len(config.seeds)})")
        stats.append(train(replace(config, seeds=(seed,)), members / str(seed)))
    tmp = out.parent / f".tmp-{out.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    average_adapters([members / str(seed) for seed in config.seeds], tmp,
                     max_bytes=MAX_ADAPTER_BYTES)
    member_stats = [{"seed": seed, **_stats_json(s)} for seed, s in zip(config.seeds, stats)]
    _finish_folder(tmp, out, config, {"examples": stats[0].examples,
                                      "mean_tokens_per_example":
                                          stats[0].mean_tokens_per_example,
                                      "members": member_stats})
    shutil.rmtree(members, ignore_errors=True)
    log(f"saved {out}: the average of {len(stats)} seeds ({adapter_bytes(out) / 1e6:.2f} MB)")
    return stats


def train_one(config: TrainConfig, out_dir: str | Path, model: str | None = None,
              log: Callable[[str], None] = print) -> TrainStats:
    """One training (``config`` has one seed); saves a checkpoint every ``save_every``
    steps."""
    import torch
    from peft import LoraConfig, get_peft_model

    from llm_mars.llm.adapter_meta import AdapterMeta
    from llm_mars.llm.machine import this_machine
    from llm_mars.llm.model_store import base_model_sha256, load_model

    t = config.train
    torch.set_num_threads(t.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    out = Path(out_dir)

    start = time.perf_counter()
    loaded = load_model(model, dtype="float32")
    tokenizer = loaded.tokenizer
    decision = decision_offset(tokenizer) if config.adapter == "bt" else None
    pairs = training_pairs(config, decision_tokens=(decision or 0) + 1)
    log(f"data: {len(pairs)} pairs in {time.perf_counter() - start:.1f} s")
    encoded = [encode_pair(tokenizer, config.system_prompt, p.user, p.answer, p.keep)
               for p in pairs]
    kept = [e for e in encoded if len(e.ids) <= t.max_length]
    lengths = [len(e.ids) for e in kept]
    mean_len = sum(lengths) / max(1, len(lengths))
    log(f"tokens: mean {mean_len:.0f}, max {max(lengths)}, dropped {len(encoded) - len(kept)} "
        f"longer than {t.max_length}")

    lora = LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha,
                      lora_dropout=config.lora.dropout,
                      target_modules=list(config.lora.target_modules), bias="none",
                      task_type="CAUSAL_LM")
    net = get_peft_model(loaded.model, lora)
    net.config.use_cache = False
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.learning_rate, weight_decay=t.weight_decay)

    epochs_full = math.ceil(t.epochs)
    plan: list[list[int]] = []
    for _ in range(epochs_full):
        plan += length_batches(lengths, t.batch_size, rng)
    total = max(1, round(len(plan) * t.epochs / epochs_full))
    plan = plan[:total]
    stats = TrainStats(len(kept), len(encoded) - len(kept), total,
                       mean_tokens_per_example=round(mean_len, 1),
                       trained_on=this_machine().describe())
    meta = AdapterMeta(config.adapter, config.system_prompt, base_model_sha256(loaded.path))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    causal_lm = net.get_base_model()
    deadline = start + t.max_minutes * 60
    window: list[float] = []
    train_start = time.perf_counter()
    for step, indices in enumerate(plan):
        ids, mask, labels, weights = collate([kept[i] for i in indices], pad, decision,
                                             t.decision_weight)
        spent = (time.perf_counter() - start) / (deadline - start)
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, total, t.warmup_steps, t.learning_rate, spent)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=t.dtype == "bfloat16"):
            loss = answer_loss(causal_lm, ids, mask, labels, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        stats.first_loss = value if stats.first_loss is None else stats.first_loss
        window.append(value)
        stats.steps_done = step + 1
        stats.tokens += int(mask.sum())
        stats.answer_tokens += int((labels != -100).sum())
        stats.seconds = time.perf_counter() - train_start
        if (step + 1) % t.log_every == 0 or step + 1 == total:
            stats.final_loss = round(sum(window) / len(window), 4)
            window = []
            log(f"step {step + 1}/{total} loss {stats.final_loss:.4f} "
                f"lr {optimizer.param_groups[0]['lr']:.2e} "
                f"{stats.tokens_per_second:.0f} tok/s elapsed {stats.seconds / 60:.1f} min")
        if (step + 1) % t.save_every == 0 and step + 1 < total:
            save_adapter(net, out, config, meta, stats)
        if time.perf_counter() > deadline and step + 1 < total:
            stats.stopped_early = True
            log(f"stopping at the {t.max_minutes:g}-minute budget after {step + 1} steps")
            break
    if window:
        stats.final_loss = round(sum(window) / len(window), 4)
    save_adapter(net, out, config, meta, stats)
    log(f"saved {out} ({adapter_bytes(out) / 1e6:.2f} MB) after {stats.seconds / 60:.1f} min")
    return stats


def adapter_bytes(folder: Path) -> int:
    from llm_mars.llm.adapters import WEIGHTS_FILE

    return (Path(folder) / WEIGHTS_FILE).stat().st_size


def save_adapter(net, out: Path, config: TrainConfig, meta, stats: TrainStats) -> None:
    """Write the PEFT folder (weights cast to ``save_dtype``), metadata, config and stats,
    via a temporary folder renamed into place (a reader never sees half an adapter)."""
    import torch
    from safetensors.torch import load_file, save_file

    from llm_mars.llm.adapters import WEIGHTS_FILE
    from llm_mars.llm.adapter_meta import write_adapter_meta

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".tmp-{out.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    net.save_pretrained(tmp)
    if config.train.save_dtype == "bfloat16":
        weights = tmp / WEIGHTS_FILE
        tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in load_file(weights).items()}
        save_file(tensors, weights, metadata={"format": "pt"})
    size = adapter_bytes(tmp)
    if size > MAX_ADAPTER_BYTES:
        shutil.rmtree(tmp, ignore_errors=True)
        raise AdapterTooLargeError(f"adapter weights are {size / 1e6:.2f} MB, over "
                                   f"{MAX_ADAPTER_BYTES / 1e6:g} MB: lower lora.r or save in "
                                   "bfloat16")
    (tmp / "README.md").unlink(missing_ok=True)  # PEFT's template card; ours is written apart
    write_adapter_meta(tmp, meta)
    _finish_folder(tmp, out, config, _stats_json(stats))


def _stats_json(stats: TrainStats) -> dict[str, Any]:
    return {**asdict(stats), "tokens_per_second": round(stats.tokens_per_second, 1)}


def _finish_folder(tmp: Path, out: Path, config: TrainConfig, stats: dict[str, Any]) -> None:
    """Write ``config`` and ``stats`` into the adapter folder ``tmp``, keep ``out``'s card, and
    rename ``tmp`` into place (a reader never sees half an adapter)."""
    import yaml

    from llm_mars.llm.adapter_meta import replace_folder

    (tmp / TRAIN_CONFIG_FILE).write_text(yaml.safe_dump(config.to_json(), sort_keys=False),
                                         encoding="utf-8")
    (tmp / STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n")
    card = out / "README.md"
    if card.exists():
        shutil.copy2(card, tmp / "README.md")
    replace_folder(tmp, out)
