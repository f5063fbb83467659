"""The token-savings estimate of GetKnowledge, exactly as knowledge.proto's TokenSavings defines it.

    F = the mean input_tokens_est of the recorded reads of the target that carry one, rounded to
        the nearest whole number (halves up); 0 when none does
    K = ceil(UTF-8 bytes of the discoveries' data, memories' content and handoffs' manifests / 4)
    U = distinct agent labels among the reading sessions and the knowledge's authors
    without_sharing = U * F
    with_sharing    = min(U * F, F + (U - 1) * K) when U >= 1, else 0
    saved           = without_sharing - with_sharing
    percentage_reduction = 100 * saved / without_sharing, to one decimal place (halves up); 0 when
        without_sharing is 0

Pure integer arithmetic, so the same evidence always gives the same answer.
"""

from __future__ import annotations

from envoy_grpc.store.knowledge_about import SavingsEvidence
from envoy_grpc.store.knowledge_types import TokenSavings


def rounded_mean(total: int, count: int) -> int:
    """total / count to the nearest whole number, halves up; 0 for no values."""
    return (2 * total + count) // (2 * count) if count else 0


def knowledge_tokens(size_bytes: int) -> int:
    """Bytes / 4, rounded up."""
    return -(-size_bytes // 4)


def token_savings(unique_agents: int, file_tokens: int, knowledge: int, recorded_reads: int) -> TokenSavings:
    """The estimate from U, F and K (and the read count, which is reported as is)."""
    without_sharing = unique_agents * file_tokens
    with_sharing = (
        min(without_sharing, file_tokens + (unique_agents - 1) * knowledge) if unique_agents >= 1 else 0
    )
    saved = without_sharing - with_sharing
    # 100 * saved / without_sharing in tenths, halves up: one decimal place.
    tenths = (2000 * saved + without_sharing) // (2 * without_sharing) if without_sharing else 0
    return TokenSavings(
        unique_agents=unique_agents,
        estimated_file_tokens=file_tokens,
        without_sharing=without_sharing,
        with_sharing=with_sharing,
        saved=saved,
        percentage_reduction=tenths / 10,
        knowledge_tokens=knowledge,
        recorded_reads=recorded_reads,
    )


def from_evidence(evidence: SavingsEvidence) -> TokenSavings:
    return token_savings(
        unique_agents=len(evidence.agents),
        file_tokens=rounded_mean(evidence.read_tokens, evidence.reads_with_tokens),
        knowledge=knowledge_tokens(evidence.knowledge_bytes),
        recorded_reads=evidence.recorded_reads,
    )
