"""TODO vae"""
