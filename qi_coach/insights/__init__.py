"""Barrier insights for a trust's QI lead: which barriers recur across the projects that used the
coach, which come together, and which strategies were tried and helped, over a period.

``figures`` counts and suppresses (the privacy rules live there), ``report`` draws the plots and
writes the page, the CSVs and a report folder, ``demo`` makes a synthetic data set to show it
on. The web chat serves the page to a QI lead (``qi_coach.channels.insights_page``);
``qi-coach insights`` writes a folder.
"""
