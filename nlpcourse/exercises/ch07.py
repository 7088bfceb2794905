"""Checks for notebook 07 (CLIP: contrastive image-text learning)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from nlpcourse.config import get_profile
from nlpcourse.exercises import unanswered, verdict
from nlpcourse.train import contrastive


def _batch_size() -> int:
    return get_profile().clip_train.batch_size


def aligned_loss(temperature: float, batch_size: int) -> float:
    """CLIP loss of perfectly aligned, mutually orthogonal pairs: log(1 + (N-1)·e^(-1/τ))."""
    return math.log1p((batch_size - 1) * math.exp(-1.0 / temperature))


def reference_recall_at_k(logits_per_text: torch.Tensor, k: int) -> float:
    """Share of captions (rows) whose own image (same index) is among the k highest logits."""
    top = logits_per_text.topk(k, dim=1).indices  # (N, k)
    own = torch.arange(len(logits_per_text)).unsqueeze(1)  # (N, 1)
    return (top == own).any(dim=1).float().mean().item()


def check_recall_at_k(fn: Callable[[torch.Tensor, int], Any] | None) -> bool | None:
    """Exercise 2: text-to-image recall@k from a (captions, images) logit matrix."""
    if unanswered(fn, "define a function (logits_per_text, k) -> recall"):
        return None
    generator = torch.Generator().manual_seed(11)
    logits = torch.randn(40, 40, generator=generator)  # (40, 40)
    logits += 2.0 * torch.eye(40)  # the true pairs score higher, as after some training
    cases = [(logits, 1), (logits, 5), (logits[:, torch.randperm(40, generator=generator)], 3)]
    cases.append((torch.eye(12) * 5.0, 1))  # a perfect model: recall 1
    for case_logits, k in cases:
        try:
            got = float(fn(case_logits.clone(), k))
        except Exception as error:  # a student's bug is a verdict, not a crash
            return verdict(
                False,
                "",
                f"with k={k} it raised {type(error).__name__}: {error}",
                hint_zh=f"当 k={k} 时抛出了 {type(error).__name__}：{error}",
            )
        expected = reference_recall_at_k(case_logits, k)
        if not math.isclose(got, expected, abs_tol=1e-6):
            return verdict(
                False,
                "",
                f"with k={k} on a {tuple(case_logits.shape)} matrix you got {got:.4f}, expected "
                f"{expected:.4f}: row i is caption i, its own image is column i; count the rows "
                "where column i is among the row's k largest logits, and divide by the rows.",
                hint_zh=(
                    f"当 k={k} 时，在 {tuple(case_logits.shape)} 的矩阵上你得到 {got:.4f}，应为 "
                    f"{expected:.4f}：第 i 行是描述 i，它自己的图像是第 i 列；数一数第 i 列位于该"
                    "行最大的 k 个 logit 之中的行，再除以行数。"
                ),
            )
    return verdict(
        True,
        "your recall@k agrees with the reference on four matrices.",
        "",
        praise_zh="在四个矩阵上，你的 recall@k 都与参考实现一致。",
    )


def reference_hard_negative_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    hard_embeds: torch.Tensor,
    logit_scale: float,
) -> torch.Tensor:
    """NegCLIP's loss: images choose among the batch's captions and one hard negative each."""
    images = torch.nn.functional.normalize(image_embeds, dim=-1)  # (N, D)
    texts = torch.nn.functional.normalize(text_embeds, dim=-1)  # (N, D)
    hard = torch.nn.functional.normalize(hard_embeds, dim=-1)  # (N, D)
    targets = torch.arange(len(images))  # (N,)
    image_to_text = logit_scale * images @ torch.cat([texts, hard]).T  # (N, 2N)
    text_to_image = logit_scale * texts @ images.T  # (N, N)
    loss_i = torch.nn.functional.cross_entropy(image_to_text, targets)
    loss_t = torch.nn.functional.cross_entropy(text_to_image, targets)
    return (loss_i + loss_t) / 2


def check_hard_negative_loss(fn: Callable[..., Any] | None) -> bool | None:
    """Exercise 4: the CLIP loss with one hard-negative caption per image (NegCLIP)."""
    if unanswered(fn, "define a function (image_embeds, text_embeds, hard_embeds, logit_scale)"):
        return None
    generator = torch.Generator().manual_seed(5)
    images, texts, hard = (torch.randn(6, 8, generator=generator) for _ in range(3))
    far = -texts  # (6, 8) each hard negative points away from its true caption
    cases = (
        ("random hard negatives", images, texts, hard, 10.0),
        ("hard negatives that are the true captions' opposites", images, texts, far, 30.0),
    )
    whats_zh = {
        "random hard negatives": "随机的难负例",
        "hard negatives that are the true captions' opposites": "与真实描述方向相反的难负例",
    }
    for what, img, txt, neg, scale in cases:
        try:
            got = float(fn(img.clone(), txt.clone(), neg.clone(), scale))
        except Exception as error:  # a student's bug is a verdict, not a crash
            return verdict(
                False,
                "",
                f"with {what} it raised {type(error).__name__}: {error}",
                hint_zh=f"使用{whats_zh[what]}时抛出了 {type(error).__name__}：{error}",
            )
        expected = float(reference_hard_negative_loss(img, txt, neg, scale))
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            plain = float(contrastive.clip_loss(img, txt, temperature=1 / scale))
            same = math.isclose(got, plain, rel_tol=1e-4)
            extra = (
                " That is the plain CLIP loss: the hard negatives must join the captions each "
                "image chooses among."
                if same
                else ""
            )
            extra_zh = (
                "这是普通的 CLIP 损失：难负例必须加入每张图像要从中选择的描述里。" if same else ""
            )
            return verdict(
                False,
                "",
                f"with {what} you got {got:.4f}, expected {expected:.4f}. Normalise the three "
                "sets of vectors; images → texts: a softmax over the N captions and the N hard "
                "negatives (N×2N logits); texts → images: over the N images only; the mean of "
                f"the two.{extra}",
                hint_zh=(
                    f"使用{whats_zh[what]}时你得到 {got:.4f}，应为 {expected:.4f}。先把三组向量归"
                    "一化；图像 → 文本：在 N 个描述和 N 个难负例上做 softmax（N×2N 个 logit）；文"
                    f"本 → 图像：只在 N 张图像上做；取两者的平均。{extra_zh}"
                ),
            )
    return verdict(
        True,
        "each image now has to beat a caption made of its own caption's words.",
        "",
        praise_zh="现在每张图像都得胜过一条由它自己描述的词语组成的描述。",
    )


def check_temperature(answer: float | None, target_loss: float = 0.1) -> bool | None:
    """Exercise 3: the temperature at which perfectly aligned pairs reach ``target_loss``."""
    if unanswered(answer, "give the temperature as a number"):
        return None
    n = _batch_size()
    try:
        tau = float(answer)
    except (TypeError, ValueError):
        return verdict(
            False,
            "",
            f"answer with a number, not {answer!r}.",
            hint_zh=f"请用一个数作答，而不是 {answer!r}。",
        )
    if not tau > 0:
        return verdict(
            False,
            "",
            "a temperature is a positive number.",
            hint_zh="温度是一个正数。",
        )
    loss = aligned_loss(tau, n)
    return verdict(
        abs(loss - target_loss) < 1e-3,
        "even perfect embeddings need a small temperature to push the loss that low.",
        f"at τ = {tau:g} the loss is {loss:.4f}, not {target_loss}: solve "
        f"log(1 + {n - 1}·exp(-1/τ)) = {target_loss} for τ.",
        praise_zh="即使嵌入完美对齐，也需要很小的温度才能把损失压到这么低。",
        hint_zh=(
            f"当 τ = {tau:g} 时损失是 {loss:.4f}，不是 {target_loss}：解方程 log(1 + {n - 1}·exp("
            f"-1/τ)) = {target_loss}，求出 τ。"
        ),
    )


def _duplicate_caption_batch() -> tuple[torch.Tensor, list[str]]:
    captions = ["red circle", "blue square", "red circle", "green diamond", "blue square"]
    captions += ["red circle", "white triangle", "yellow circle"]
    logits = torch.randn(8, 8, generator=torch.Generator().manual_seed(7)) * 3  # (8, 8)
    return logits, captions


def check_multi_positive_loss(
    loss_fn: Callable[[torch.Tensor, list[str]], Any] | None,
) -> bool | None:
    """Exercise: ``loss_fn(logits_per_image, captions)``, every same-caption row a positive."""
    if unanswered(loss_fn, "define a function (logits_per_image, captions) -> loss"):
        return None
    logits, captions = _duplicate_caption_batch()
    distinct = [f"caption {i}" for i in range(8)]
    perfect = 50.0 * contrastive.positive_mask(captions).float()  # (8, 8)
    cases = (
        ("a batch whose captions are all distinct", logits, distinct),
        ("a batch with repeated captions", logits, captions),
        ("perfect logits on repeated captions", perfect, captions),
    )
    whats_zh = ("描述各不相同的批次", "有重复描述的批次", "重复描述上的完美 logits")
    for number, (what, case_logits, case_captions) in enumerate(cases):
        try:
            got = float(loss_fn(case_logits.clone(), list(case_captions)))
        except Exception as error:  # a student's bug is a verdict, not a crash
            return verdict(
                False,
                "",
                f"on {what} it raised {type(error).__name__}: {error}",
                hint_zh=f"在{whats_zh[number]}上抛出了 {type(error).__name__}：{error}",
            )
        expected = float(contrastive.multi_positive_loss_from_logits(case_logits, case_captions))
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            hint = {
                0: "with distinct captions it must equal the ordinary CLIP loss.",
                1: "each row's loss is -log of the softmax mass on all its positives, in both "
                "directions (rows: images over captions; columns: captions over images), "
                "averaged over rows and then over the two directions.",
                2: "when every matching caption scores far above the rest, nothing is left to "
                "learn: the loss should be about 0, not ln m.",
            }[number]
            hint_zh = {
                0: "描述各不相同时，它必须等于普通的 CLIP 损失。",
                1: "每一行的损失是其全部正例上 softmax 概率质量之和的 -log，两个方向都要算"
                "（行：图像在描述上；列：描述在图像上），先对行取平均，再对两个方向取平均。",
                2: "当每个匹配的描述得分都远高于其余描述时，已经没有什么可学的了："
                "损失应约为 0，而不是 ln m。",
            }[number]
            return verdict(
                False,
                "",
                f"on {what} you got {got:.4f}: {hint}",
                hint_zh=f"在{whats_zh[number]}上你得到 {got:.4f}：{hint_zh}",
            )
    return verdict(
        True,
        "it agrees with the tested version on distinct and repeated captions, and a perfect "
        "model now reaches the bottom.",
        "",
        praise_zh="它在描述各不相同和有重复描述的批次上都与经过测试的版本一致，完美的模型现在也能把损失降到底。",
    )
