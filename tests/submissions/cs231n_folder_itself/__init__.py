# cs231n package (assignment 2)
