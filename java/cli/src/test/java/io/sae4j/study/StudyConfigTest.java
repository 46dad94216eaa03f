package io.sae4j.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StudyConfigTest {
    @TempDir
    Path tmp;

    @Test
    void aFileOverridesTheDefaults() throws Exception {
        Path f = Files.writeString(tmp.resolve("s.json"), "{\"ratios\": [1, 2], \"steps\": 10, \"layers\": [3, 1]}");
        StudyConfig c = StudyConfig.read(f, false);
        assertEquals(List.of(1, 2), c.ratios());
        assertEquals(10, c.steps());
        assertEquals(StudyConfig.defaults().trainTokens(), c.trainTokens(), "unset keys keep the default");
        assertEquals(StudyConfig.full().trainTokens(), StudyConfig.read(f, true).trainTokens(), "--full changes the base");
    }

    @Test
    void badConfigsNameTheProblem() throws Exception {
        Path unknown = Files.writeString(tmp.resolve("u.json"), "{\"ratio_list\": [1]}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(unknown, false)).getMessage()
                .contains("unknown key 'ratio_list'"));
        Path layer = Files.writeString(tmp.resolve("l.json"), "{\"layers\": [0, 1], \"layer\": 3}");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(layer, false)).getMessage()
                .contains("must include layer 3"));
        Path broken = Files.writeString(tmp.resolve("b.json"), "{\"steps\": ");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(broken, false)).getMessage()
                .contains(broken.toString()));
        Path type = Files.writeString(tmp.resolve("t.json"), "{\"steps\": \"many\"}");
        assertThrows(IllegalArgumentException.class, () -> StudyConfig.read(type, false));
    }
}
