"""Machine-readable error codes of membership, beside the shared ones in core.errors."""

from enum import StrEnum


class MembershipErrorCode(StrEnum):
    ALREADY_MEMBER = "already_member"
    NOT_QUALIFIED = "not_qualified"
    TIER_INACTIVE = "tier_inactive"
    MEMBER_NOT_ACTIVE = "member_not_active"
    INSUFFICIENT_POINTS = "insufficient_points"
    OUT_OF_STOCK = "out_of_stock"
    GIFT_INACTIVE = "gift_inactive"
    ALLOWANCE_USED = "allowance_used"
    IN_USE = "in_use"
    RULE_OVERLAP = "points_rule_overlap"
