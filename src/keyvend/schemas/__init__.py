"""What services take and return: `XCreate` / `XUpdate` in, `XPublic` and `Page[T]` out.

Plain pydantic models with no behaviour. Services validate the values with the rules in
`domain/` (so refusals keep their worded messages); the API serialises results with
`model_dump(mode="json")`, which gives the FOSSBilling wire format.
"""
