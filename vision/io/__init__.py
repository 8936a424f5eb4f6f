"""Reading the world: frames (files, cameras, streams), pose tracks, studio files and the camera model, limits on input."""
