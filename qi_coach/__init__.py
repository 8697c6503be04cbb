"""qi-coach: a conversational coach for stalled healthcare quality-improvement projects."""
