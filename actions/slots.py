"""Slot names and the values of ``awaiting``, in one place (they must match domain.yml)."""

AWAITING = "awaiting"
BARRIERS_PROPOSED = "barriers_proposed"
BARRIERS_CONFIRMED = "barriers_confirmed"
LEVELS = "levels"
TRIED_STRATEGIES = "tried_strategies"
SHOWN_STRATEGIES = "shown_strategies"
LAST_STRATEGIES = "last_strategies"

# values of AWAITING: what the bot last asked
NOTHING = "nothing"
BARRIER_CONFIRMATION = "barrier_confirmation"
CLARIFICATION = "clarification"
BARRIER_CHOICE = "barrier_choice"
BARRIER_ADDITION = "barrier_addition"
FEEDBACK = "feedback"
