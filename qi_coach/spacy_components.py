"""spaCy components of the project's own pipeline (shipped inside the ``en_qi_coach`` package).

spaCy's lookup lemmatiser looks tokens up exactly as typed, so "Consultants" and "PDSAs" keep
their plural and capital, and "GP practices" fails to meet the pattern "GP practice". This
component lower-cases every lemma and looks the lower-cased form up again, so what people
type in any case meets the same lemma ("Consultants" -> "consultant").
"""

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc


@Language.factory("qi_lowercase_lemmas")
def create_lowercase_lemmas(nlp: Language, name: str):  # no postponed annotations: spaCy
    # builds a pydantic model of this signature
    return LowercaseLemmas(nlp)


class LowercaseLemmas:
    def __init__(self, nlp: Language):
        self.nlp = nlp
        self._table = None

    def _lookup(self):
        if self._table is None:  # the lemmatiser's tables load after this is built
            lemmatizer: Any = self.nlp.get_pipe("lemmatizer")  # spaCy types it as a plain Pipe
            self._table = lemmatizer.lookups.get_table("lemma_lookup")
        return self._table

    def __call__(self, doc: Doc) -> Doc:
        table = self._lookup()
        for token in doc:
            lower = token.lower_
            lemma = table.get(lower, None)
            if lemma is None:
                lemma = token.lemma_.lower() if token.lemma_ else lower
                # shorthand plurals of acronyms: "PDSAs", "GPs", "HCAs"
                if token.text[:-1].isupper() and token.text.endswith("s") and len(token.text) > 2:
                    lemma = lower[:-1]
            token.lemma_ = lemma
        return doc
