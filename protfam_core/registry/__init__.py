"""TODO registry"""
