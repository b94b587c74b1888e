print("mocca")
