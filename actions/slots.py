"""Slot names and the values of ``awaiting``, in one place (they must match domain.yml)."""

AWAITING = "awaiting"
BARRIERS_PROPOSED = "barriers_proposed"
BARRIERS_CONFIRMED = "barriers_confirmed"
LEVELS = "levels"
TRIED_STRATEGIES = "tried_strategies"
SHOWN_STRATEGIES = "shown_strategies"
LAST_STRATEGIES = "last_strategies"
COMMIT_OPTIONS = "commit_options"
COMMITTED = "committed"
CHECKIN_DAY = "checkin_day"
CHECKIN = "checkin"
CHECKIN_PROGRESS = "checkin_progress"
CHECKIN_HELPED = "checkin_helped"
CHECKIN_OBSTACLE = "checkin_obstacle"
MEASURE = "measure"
# the stalled-project review (stall_review_form): one answer per level of the model of alignment
REVIEW_FRONT_LINE = "review_front_line"
REVIEW_MIDDLE_MANAGER = "review_middle_manager"
REVIEW_SENIOR_LEADER = "review_senior_leader"
REVIEW_SLOTS = {"front_line": REVIEW_FRONT_LINE, "middle_manager": REVIEW_MIDDLE_MANAGER,
                "senior_leader": REVIEW_SENIOR_LEADER}

# values of AWAITING: what the bot last asked
NOTHING = "nothing"
BARRIER_CONFIRMATION = "barrier_confirmation"
CLARIFICATION = "clarification"
BARRIER_CHOICE = "barrier_choice"
BARRIER_ADDITION = "barrier_addition"
FEEDBACK = "feedback"
TRIAGE_CONFIRMATION = "triage_confirmation"
TRIAGE_CORRECTION = "triage_correction"
COMMIT_CHOICE = "commit_choice"
CHECKIN_WHEN = "checkin_when"

# the guided triage: its questions, in the order triage_form asks them
TRIAGE_AIM = "triage_aim"
TRIAGE_STAGE = "triage_stage"
TRIAGE_LEVELS = "triage_levels"
TRIAGE_STUCK_FOR = "triage_stuck_for"
TRIAGE_TRIED = "triage_tried"
TRIAGE_OBSTACLE = "triage_obstacle"
TRIAGE_MORE = "triage_more"
TRIAGE_QUESTIONS = [TRIAGE_AIM, TRIAGE_STAGE, TRIAGE_LEVELS, TRIAGE_STUCK_FOR, TRIAGE_TRIED, TRIAGE_OBSTACLE,
                    TRIAGE_MORE]
TRIAGE_ANSWERS = "triage_answers"
TRIAGE_PRIORITIES = "triage_priorities"

# every slot the actions set, and every value of AWAITING (the contract tests check both
# against domain.yml)
SLOT_NAMES = (AWAITING, BARRIERS_PROPOSED, BARRIERS_CONFIRMED, LEVELS, TRIED_STRATEGIES, SHOWN_STRATEGIES,
              LAST_STRATEGIES, *TRIAGE_QUESTIONS, TRIAGE_ANSWERS, TRIAGE_PRIORITIES, COMMIT_OPTIONS, COMMITTED, CHECKIN_DAY,
              CHECKIN, CHECKIN_PROGRESS, CHECKIN_HELPED, CHECKIN_OBSTACLE, MEASURE, *REVIEW_SLOTS.values())
AWAITING_VALUES = (NOTHING, BARRIER_CONFIRMATION, CLARIFICATION, BARRIER_CHOICE, BARRIER_ADDITION, FEEDBACK,
                   TRIAGE_CONFIRMATION, TRIAGE_CORRECTION, COMMIT_CHOICE, CHECKIN_WHEN)
