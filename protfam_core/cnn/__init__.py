"""TODO cnn"""
