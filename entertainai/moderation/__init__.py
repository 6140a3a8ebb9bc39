"""Moderation and curation: toxicity/spam and image classifiers, filters on what is served."""
