"""TODO ss"""
