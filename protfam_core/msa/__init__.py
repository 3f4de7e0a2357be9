"""TODO msa"""
