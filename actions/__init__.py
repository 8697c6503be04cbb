"""Custom actions of qi-coach, one module per concern. The action server imports every
module here and registers each concrete ``Action`` subclass, built with no arguments."""
