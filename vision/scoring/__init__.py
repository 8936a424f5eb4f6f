"""Trainees' exercises and their scores."""
