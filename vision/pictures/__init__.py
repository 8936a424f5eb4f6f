"""What people look at: the overlay, alert snapshots, face blurring, annotated video, the HTML/PDF reports."""
