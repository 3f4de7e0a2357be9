"""TODO features"""
