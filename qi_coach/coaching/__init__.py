"""Coaching logic: the guided triage (reading answers, priorities) and the action plan it ends in."""
